import t from 'tap';
import { expandTasksPerNode, launchEnv } from '../../lib/distributed/env.js';

const four = { RANK: '2', WORLD_SIZE: '4', LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '2', MASTER_ADDR: 'node0', MASTER_PORT: '29400' };

t.test('no launcher variable: null (one process, as without a launcher)', async (t) => {
  t.equal(launchEnv({}), null);
  t.equal(launchEnv({ PATH: '/bin', MASTER_ADDR: 'x', MASTER_PORT: '1' }), null, 'MASTER_* alone are no launch');
  t.equal(launchEnv({ RANK: '', WORLD_SIZE: '' }), null, 'empty counts as unset');
  // A SLURM batch script has SLURM_PROCID and SLURM_NTASKS but is no job step.
  t.equal(launchEnv({ SLURM_PROCID: '0', SLURM_NTASKS: '4', SLURM_JOB_NODELIST: 'n[1-4]' }), null);
});

t.test('torchrun variables', async (t) => {
  t.same(launchEnv(four), { rank: 2, worldSize: 4, localRank: 0, localWorldSize: 2, masterAddr: 'node0', masterPort: 29400, source: 'torchrun' });
  t.same(launchEnv({ WORLD_SIZE: '1' }), { rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, masterAddr: '127.0.0.1', masterPort: 29500, source: 'torchrun' }, 'WORLD_SIZE=1 alone');
  const defaults = launchEnv({ RANK: '1', WORLD_SIZE: '2', MASTER_ADDR: 'h', MASTER_PORT: '5' })!;
  t.equal(defaults.localRank, 1, 'LOCAL_RANK defaults to RANK');
  t.equal(defaults.localWorldSize, 2, 'LOCAL_WORLD_SIZE defaults to WORLD_SIZE');
  t.equal(launchEnv({ ...four, SLURM_PROCID: '3', SLURM_NTASKS: '8', SLURM_STEP_ID: '0' })!.source, 'torchrun', 'torchrun variables win over SLURM');
});

t.test('each bad or partial set names its variable, expected vs got', async (t) => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ RANK: '0' }, /for WORLD_SIZE but received undefined/],
    [{ LOCAL_RANK: '0' }, /\(LOCAL_RANK set without it\) for WORLD_SIZE but received undefined/],
    [{ WORLD_SIZE: '2', MASTER_ADDR: 'h', MASTER_PORT: '1' }, /for RANK but received undefined/],
    [{ ...four, RANK: '4' }, /Expected an integer in \[0, 3\] \(below WORLD_SIZE=4\) for RANK but received '4'/],
    [{ ...four, RANK: '-1' }, /for RANK but received '-1'/],
    [{ ...four, WORLD_SIZE: '0' }, /an integer >= 1 for WORLD_SIZE but received '0'/],
    [{ ...four, WORLD_SIZE: 'two' }, /for WORLD_SIZE but received 'two'/],
    [{ ...four, MASTER_PORT: '0' }, /in \[1, 65535\] for MASTER_PORT but received '0'/],
    [{ ...four, MASTER_PORT: '65536' }, /for MASTER_PORT but received '65536'/],
    [{ ...four, MASTER_PORT: '' }, /required when the world size is 4 > 1\) for MASTER_PORT but received undefined/],
    [{ ...four, MASTER_ADDR: '' }, /required when the world size is 4 > 1\) for MASTER_ADDR but received undefined/],
    [{ ...four, LOCAL_RANK: '2' }, /\(below LOCAL_WORLD_SIZE=2\) for LOCAL_RANK but received '2'/],
    [{ ...four, LOCAL_WORLD_SIZE: '5' }, /at most WORLD_SIZE=4\) for LOCAL_WORLD_SIZE/],
    [{ ...four, LOCAL_RANK: '' }, /rank 2 is no local rank with LOCAL_WORLD_SIZE=2; set LOCAL_RANK\) for LOCAL_RANK but received undefined/],
  ];
  for (const [env, message] of bad) t.throws(() => launchEnv(env), { code: 'ERR_INVALID_ARG', message }, JSON.stringify(env));
});

t.test('SLURM job step as the fallback', async (t) => {
  const step = { SLURM_STEP_ID: '0', SLURM_PROCID: '5', SLURM_NTASKS: '8', SLURM_LOCALID: '1', SLURM_NODEID: '1', SLURM_TASKS_PER_NODE: '4(x2)', MASTER_ADDR: 'gpu01', MASTER_PORT: '29500' };
  t.same(launchEnv(step), { rank: 5, worldSize: 8, localRank: 1, localWorldSize: 4, masterAddr: 'gpu01', masterPort: 29500, source: 'slurm' });
  t.equal(launchEnv({ ...step, SLURM_STEP_ID: '', SLURM_STEPID: '3' })!.source, 'slurm', 'the old SLURM_STEPID counts too');
  t.equal(launchEnv({ ...step, SLURM_TASKS_PER_NODE: '5,3', SLURM_NODEID: '1', SLURM_LOCALID: '2' })!.localWorldSize, 3, "uneven nodes: this node's count");
  t.equal(launchEnv({ ...step, SLURM_NTASKS_PER_NODE: '2', SLURM_LOCALID: '0' })!.localWorldSize, 2, 'SLURM_NTASKS_PER_NODE before SLURM_TASKS_PER_NODE');
  t.equal(launchEnv({ ...step, SLURM_STEP_TASKS_PER_NODE: '1(x8)', SLURM_NTASKS_PER_NODE: '4', SLURM_LOCALID: '0' })!.localWorldSize, 1, "the step's own count first");
  const plain = { ...step, MASTER_ADDR: '', SLURM_JOB_NODELIST: 'gpu07,gpu08' };
  t.equal(launchEnv(plain)!.masterAddr, 'gpu07', 'first host of a plain node list');
  t.throws(() => launchEnv({ ...plain, SLURM_JOB_NODELIST: 'gpu[07-08]' }), { code: 'ERR_INVALID_ARG', message: /SLURM_JOB_NODELIST='gpu\[07-08\]' is not a plain hostname list, set MASTER_ADDR to its first host\) for MASTER_ADDR/ });
  t.throws(() => launchEnv({ ...step, MASTER_PORT: '' }), { message: /MASTER_PORT/ });
  t.throws(() => launchEnv({ ...step, SLURM_NTASKS: '' }), { message: /for SLURM_NTASKS but received undefined/ });
  t.throws(() => launchEnv({ ...step, SLURM_PROCID: '8' }), { message: /below SLURM_NTASKS=8\) for SLURM_PROCID but received '8'/ });
  t.throws(() => launchEnv({ ...step, SLURM_LOCALID: '4' }), { message: /for SLURM_LOCALID but received '4'/ });
  t.throws(() => launchEnv({ ...step, SLURM_TASKS_PER_NODE: '4(x' }), { message: /for SLURM_TASKS_PER_NODE but received '4\(x'/ });
  t.throws(() => launchEnv({ ...step, SLURM_NODEID: '2' }), { message: /one of the 2 nodes.*for SLURM_NODEID/ });
  t.same(launchEnv({ SLURM_STEP_ID: '0', SLURM_PROCID: '0', SLURM_NTASKS: '1' }), { rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, masterAddr: '127.0.0.1', masterPort: 29500, source: 'slurm' }, 'one task needs no master');
});

t.test("SLURM's compressed tasks-per-node form", async (t) => {
  t.same(expandTasksPerNode('4'), [4]);
  t.same(expandTasksPerNode('2(x3),1'), [2, 2, 2, 1]);
  t.equal(expandTasksPerNode('2(x3'), null);
  t.equal(expandTasksPerNode(''), null);
});

t.test("distributed.deviceFor: plain 'cuda' under a launcher is the GPU of LOCAL_RANK", async (t) => {
  const { distributed } = await import('../../lib/distributed/group.js');
  const saved = { ...process.env };
  t.teardown(() => {
    for (const k of Object.keys(four)) delete process.env[k];
    Object.assign(process.env, saved);
  });
  for (const k of Object.keys(four)) delete process.env[k];
  t.equal(distributed.deviceFor('cuda'), 'cuda', 'one process: as given');
  Object.assign(process.env, { ...four, LOCAL_RANK: '1' });
  t.equal(distributed.deviceFor('cuda'), 'cuda:1');
  t.equal(distributed.deviceFor('cuda:0'), 'cuda:0', 'an explicit index stays');
  t.equal(distributed.deviceFor('cpu'), 'cpu');
});
