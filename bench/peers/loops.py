#!/usr/bin/env python3
"""Python reference training loops for the speed benches: the published FreeLB, PGD (+ clean, CreAT's AT),
CreAT and SMART loops written plainly in PyTorch, as their official repositories do, around a BERT
classifier: transformers' BertForSequenceClassification when transformers is importable (the GPU machine),
else the float-faithful reference model of test/fixtures/reference_models.py (Debian's PyTorch here).

Prints one JSON line per method with the same fields as advtrain's bench (bench/trial.ts):
  {impl, method, model, batch, seq, precision, device, msPerStep, examplesPerSec, tokensPerSec, peakMemMB}

  python3 bench/peers/loops.py --model mini --batch 32 --seq 64 --device cpu --methods vanilla,freelb
  python3 bench/peers/loops.py --model base --batch 32 --seq 128 --device cuda --precision bf16 --attn sdpa

Batches are padded: row lengths spread over [seq/2, seq] (pad_lengths, the same as bench/trial.ts).
With --profile DIR, --profile-steps more steps after the timed ones run under torch.profiler, each
Chrome trace written to DIR/python-<method>-<k>.json (bench/profile.ts compares them with advtrain's).

Loops (per optimizer step, AdamW, grad clipping 1.0):
  vanilla  loss.backward()
  freelb   K=3 passes on E + delta (random start, FreeLB's init), (loss / K).backward() each, l2 ascent +
           projection between passes
  pgd      random start, K=2 delta-only ascents (autograd.grad), then 0.5 * (L(x) + L(x + delta)).backward()
  creat    clean forward (graph kept), one ascent on L_ptb - tau * cos(h, h_ptb), final 0.5 * (L + L_ptb)
  smart    clean forward, one attack step on symKL(adv, sg(clean)) of the post-LayerNorm embeddings, then
           L + symKL(sg-each) backward (mt-dnn's loop)
  rpt      R3F (fairseq's sentence_prediction_r3f): clean forward, a forward on the detached word embeddings
           plus U(-1e-5, 1e-5) noise, CE + symmetric KL backward through both
  alum     mt-dnn's ALUM: clean forward, one attack step on KL(sg clean || adv) of N(0, 1e-5) noise on the
           embedding output (inf-token normalised), then CE + symKL(sg-each) backward
  textat   Token-Aware-VAT: FreeLB's K=3 passes on E + delta_s + delta_t, delta_t from a [vocab, dim] table
           carried across steps and updated with the last delta_t of every step
  freeat   the FreeLB repository's freeat_train_step: m=2 replays, each loss / (1 + m) backward, an l2 ascent on
           delta from that backward, and an optimizer update (one bench step = m updates)
  sift     DeBERTa's sift.py: an affine-free LayerNorm before embeddings.LayerNorm (a forward pre-hook), clean
           pass, one attack pass on sg(v) + delta (delta-only gradient), perturbed pass, L + 5 * symmetric CE
  infobert AI-secure/InfoBERT's _adv_training_step (estimator version 6): FreeLB K=3 with all hidden states;
           per pass (L/K + UB/K).backward(retain_graph) (CLUB on the encoder input), anchors from ||dL/d delta||,
           the InfoNCE critic (Linear(2H, 300), ReLU, Linear(300, 1), Softplus on every pair) and LB.backward()
  yopo     the FreeLB repository's yopo_train_step: outer=2 full passes (each loss / 2 backward, p = dL/dh1 of the
           first layer's output), between them inner=3 ascents recomputing only the embeddings and layer 0
(freeat, sift, infobert and yopo need transformers.)
"""
import argparse
import json
import os
import re
import resource
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "fixtures"))

SIZES = {
    "tiny": dict(num_hidden_layers=2, hidden_size=128, num_attention_heads=2, intermediate_size=512),
    "mini": dict(num_hidden_layers=4, hidden_size=256, num_attention_heads=4, intermediate_size=1024),
    "small": dict(num_hidden_layers=4, hidden_size=512, num_attention_heads=8, intermediate_size=2048),
    "base": dict(num_hidden_layers=12, hidden_size=768, num_attention_heads=12, intermediate_size=3072),
}


# lib/model/families.ts: the same fields laid over the size's BERT shape.
FAMILIES = {
    "bert": {},
    "deberta-v3": dict(model_type="deberta-v2", relative_attention=True, pos_att_type=["p2c", "c2p"], position_buckets=256,
                       max_relative_positions=-1, position_biased_input=False, norm_rel_ebd="layer_norm", share_att_key=True,
                       type_vocab_size=0, layer_norm_eps=1e-7),
    "albert": dict(model_type="albert", embedding_size=128, num_hidden_groups=1, inner_group_num=1),
}


def build(size, device, attn, family="bert"):
    cfg = dict(model_type="bert", vocab_size=30522, max_position_embeddings=512, type_vocab_size=2, num_labels=2, **SIZES[size])
    cfg.update(FAMILIES[family])
    try:
        import transformers  # noqa: F401
        from transformers import AutoConfig, AutoModelForSequenceClassification

        model_type = cfg.pop("model_type")
        try:
            model = AutoModelForSequenceClassification.from_config(AutoConfig.for_model(model_type, **cfg, attn_implementation=attn))
        except ValueError:  # no SDPA in transformers for this family (DeBERTa-v2): its own attention, as users get
            model = AutoModelForSequenceClassification.from_config(AutoConfig.for_model(model_type, **cfg, attn_implementation="eager"))
        base = getattr(model, model.base_model_prefix)
        impl = "python-transformers"
        model.bench_base = base

        def embed_words(ids):
            return base.embeddings.word_embeddings(ids)

        def run(ids, mask, words=None, emb_delta=None, all_hidden=False):
            handle = None
            if emb_delta is not None:
                handle = base.embeddings.register_forward_hook(lambda m, i, o: o + emb_delta)
            out = model(input_ids=None if words is not None else ids, inputs_embeds=words, attention_mask=mask, output_hidden_states=True)
            if handle:
                handle.remove()
            return out.logits, out.hidden_states if all_hidden else out.hidden_states[-1]
    except ImportError:
        if family != "bert":
            raise
        import reference_models as R

        c = R.tiny_config("bert", "sequence-classification", num_labels=2, **{k: v for k, v in cfg.items() if k not in ("model_type", "num_labels")})
        c.update(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
        model = R.ReferenceModel(c, "sequence-classification")
        impl = "python-reference"

        def embed_words(ids):
            return model.bert.embeddings.word_embeddings(ids)

        def run(ids, mask, words=None, emb_delta=None):
            out = model(ids, mask, torch.zeros_like(ids), inputs_embeds=words, embedding_delta=emb_delta)
            return out.logits, out.last_hidden_state
    return model.to(device).train(), impl, embed_words, run


def pad_lengths(batch, seq):
    lo = (seq + 1) // 2
    return [lo + (i * 37 + 11) % (seq - lo + 1) for i in range(batch)]


def l2_init(ids, dim, m, mag):
    # The official FreeLB init: uniform in [-1, 1] on real tokens, scaled by mag / sqrt(length * dim).
    lengths = m.sum((1, 2)).clamp_min(1)
    return torch.empty(*ids.shape, dim, device=ids.device).uniform_(-1, 1) * m * (mag / torch.sqrt(lengths * dim)).view(-1, 1, 1)


def l2_step(delta, grad, mask, lr, eps):
    g = grad * mask
    n = g.flatten(1).norm(dim=1).clamp_min(1e-8).view(-1, 1, 1)
    delta = (delta + lr * g / n).detach()
    dn = delta.flatten(1).norm(dim=1).view(-1, 1, 1)
    return torch.where(dn > eps, delta * eps / dn, delta).detach()


def sym_kl(a, b):
    return F.kl_div(F.log_softmax(a, -1), F.softmax(b, -1), reduction="batchmean") + F.kl_div(F.log_softmax(b, -1), F.softmax(a, -1), reduction="batchmean")


def sym_kl_each(a, b):
    """mt-dnn's SymKlCriterion: each direction's target detached."""
    return F.kl_div(F.log_softmax(a, -1), F.softmax(b.detach(), -1), reduction="batchmean") + F.kl_div(F.log_softmax(b, -1), F.softmax(a.detach(), -1), reduction="batchmean")


def step_fn(method, embed_words, run, model, update):
    def vanilla(ids, mask, y):
        logits, _ = run(ids, mask)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        return loss

    def freelb(ids, mask, y, K=3):
        m = mask.unsqueeze(-1).float()
        delta = l2_init(ids, embed_words(ids[:1, :1]).shape[-1], m, 0.1).requires_grad_()
        total = 0.0
        for t in range(K):
            logits, _ = run(ids, mask, words=embed_words(ids) + delta)
            loss = F.cross_entropy(logits, y) / K
            loss.backward()
            total = total + loss.detach()
            if t == K - 1:
                break
            delta = l2_step(delta, delta.grad, m, 0.1, 0.6).requires_grad_()
        return total

    def pgd(ids, mask, y, K=2):
        m = mask.unsqueeze(-1).float()
        delta = l2_init(ids, embed_words(ids[:1, :1]).shape[-1], m, 0.1).requires_grad_()
        for _ in range(K):
            logits, _ = run(ids, mask, words=embed_words(ids).detach() + delta)
            (g,) = torch.autograd.grad(F.cross_entropy(logits, y), delta)
            delta = l2_step(delta, g, m, 0.1, 0.1).requires_grad_()
        clean, _ = run(ids, mask)
        adv, _ = run(ids, mask, words=embed_words(ids) + delta.detach())
        loss = 0.5 * (F.cross_entropy(clean, y) + F.cross_entropy(adv, y))
        loss.backward()
        return loss

    def creat(ids, mask, y, tau=1.0):
        m = mask.unsqueeze(-1).float()
        clean, h = run(ids, mask)
        h = h.detach()
        delta = (torch.randn(*ids.shape, embed_words(ids[:1, :1]).shape[-1], device=ids.device) * 1e-2 * m).requires_grad_()
        logits, hp = run(ids, mask, words=embed_words(ids).detach() + delta)
        cos = (F.cosine_similarity(h, hp, -1) * mask).sum(1).div(mask.sum(1)).mean()
        (g,) = torch.autograd.grad(F.cross_entropy(logits, y) - tau * cos, delta)
        delta = l2_step(delta, g, m, 0.1, 0.1)
        adv, _ = run(ids, mask, words=embed_words(ids) + delta)
        loss = 0.5 * (F.cross_entropy(clean, y) + F.cross_entropy(adv, y))
        loss.backward()
        return loss

    def smart(ids, mask, y):
        m = mask.unsqueeze(-1).float()
        clean, h = run(ids, mask)
        # The embedding module's output: ALBERT's is embedding_size wide, before its projection.
        xi = (torch.randn(*ids.shape, embed_words(ids[:1, :1]).shape[-1], device=ids.device) * 1e-5 * m).requires_grad_()
        adv, _ = run(ids, mask, emb_delta=xi)
        (g,) = torch.autograd.grad(sym_kl(adv, clean.detach()), xi)
        xi = (xi + 1e-3 * g) / ((xi + 1e-3 * g).abs().amax(-1, keepdim=True) + 1e-6)
        adv, _ = run(ids, mask, emb_delta=(xi * m).detach())
        reg = sym_kl_each(clean, adv)
        loss = F.cross_entropy(clean, y) + reg
        loss.backward()
        return loss

    def rpt(ids, mask, y):
        m = mask.unsqueeze(-1).float()
        clean, _ = run(ids, mask)
        words = embed_words(ids)
        noise = torch.empty_like(words).uniform_(-1, 1) * 1e-5 * m
        noised, _ = run(ids, mask, words=words.detach() + noise)
        reg = sym_kl(noised, clean)  # gradients through both sides (fairseq)
        loss = F.cross_entropy(clean, y) + reg
        loss.backward()
        return loss

    def alum(ids, mask, y):
        m = mask.unsqueeze(-1).float()
        clean, _ = run(ids, mask)
        xi = (torch.randn(*ids.shape, embed_words(ids[:1, :1]).shape[-1], device=ids.device) * 1e-5 * m).requires_grad_()
        adv, _ = run(ids, mask, emb_delta=xi)
        (g,) = torch.autograd.grad(F.kl_div(F.log_softmax(adv, -1), F.softmax(clean.detach(), -1), reduction="batchmean"), xi)
        z = xi.detach() + 1e-3 * g * m
        xi = (z / (z.abs().amax(-1, keepdim=True) + 1e-6) * m).detach()
        adv, _ = run(ids, mask, emb_delta=xi)
        reg = sym_kl_each(clean, adv)
        loss = F.cross_entropy(clean, y) + reg
        loss.backward()
        return loss

    table = {}

    def textat(ids, mask, y, K=3, lr=0.1, eps=0.6):
        m = mask.unsqueeze(-1).float()
        dim = embed_words(ids[:1, :1]).shape[-1]
        if "T" not in table:
            table["T"] = torch.empty(30522, dim, device=ids.device).uniform_(-1, 1) * 0.1 / dim**0.5
        ds = l2_init(ids, dim, m, 0.1)
        dt = table["T"][ids] * m
        dt = dt / dt.norm().clamp_min(1e-12)
        total = 0.0
        for t in range(K):
            ds, dt = ds.detach().requires_grad_(), dt.detach().requires_grad_()
            loss = F.cross_entropy(run(ids, mask, words=embed_words(ids) + ds + dt)[0], y) / K
            loss.backward()
            total = total + loss.detach()
            if t == K - 1:
                break
            gs, gt = ds.grad * m, dt.grad * m
            s = ds.detach() + lr * gs / gs.flatten(1).norm(dim=1).clamp_min(1e-8).view(-1, 1, 1)
            tt = dt.detach() + lr * gt / gt.norm(dim=-1, keepdim=True).clamp_min(1e-8) * m
            tn = tt.norm(dim=-1, keepdim=True)
            tt = tt * tn / tn.amax(dim=1, keepdim=True).clamp_min(1e-12)
            joint = (s + tt).flatten(1).norm(dim=1)
            f = torch.where(joint > eps, eps / joint, torch.ones_like(joint)).view(-1, 1, 1)
            ds, dt = s * f * m, tt * f * m
        real = mask.flatten().bool()
        table["T"].index_put_((ids.flatten()[real],), dt.detach().flatten(0, 1)[real], accumulate=True)
        return total

    def freeat(ids, mask, y, m_replays=2):
        m = mask.unsqueeze(-1).float()
        delta = torch.zeros(*ids.shape, embed_words(ids[:1, :1]).shape[-1], device=ids.device, requires_grad=True)
        for r in range(m_replays):
            logits, _ = run(ids, mask, words=embed_words(ids) + delta)
            loss = F.cross_entropy(logits, y)
            (loss / (1 + m_replays)).backward()
            delta = l2_step(delta, delta.grad, m, 0.1, 0.6).requires_grad_()
            if r < m_replays - 1:
                update()  # the harness makes the last replay's update
        return loss

    def yopo(ids, mask, y, outer=2, inner=3, lr=0.1, eps=0.6):
        # The FreeLB repository's yopo_train_step (YOPO-m-n ported to NLP): `outer` full passes on E + delta,
        # each (loss / outer).backward(), p = dL/dh1 (the first layer's output, kept by a forward hook); between
        # two passes `inner` ascents on sum(layer0(embeddings(sg E + delta)) * p), recomputing only the
        # embedding module and the first layer. Zero start (advtrain's default initMag 0).
        from transformers.masking_utils import create_bidirectional_mask

        base = model.bench_base
        layer0 = base.encoder.layer[0]
        m = mask.unsqueeze(-1).float()
        delta = torch.zeros(*ids.shape, base.embeddings.word_embeddings.weight.shape[-1], device=ids.device)
        total, p = 0.0, None
        for j in range(outer):
            if j > 0:
                words = embed_words(ids).detach()
                for _ in range(inner):
                    delta = delta.detach().requires_grad_()
                    emb = base.embeddings(inputs_embeds=words + delta)
                    mask4d = create_bidirectional_mask(config=model.config, inputs_embeds=emb, attention_mask=mask)
                    out = layer0(emb, mask4d)
                    h = (out[0] if isinstance(out, tuple) else out)
                    (g,) = torch.autograd.grad((h * p).sum(), delta)
                    delta = l2_step(delta, g, m, lr, eps)
            kept = {}

            def keep(module, inputs, output):
                h1 = output[0] if isinstance(output, tuple) else output
                h1.retain_grad()
                kept["h1"] = h1

            handle = layer0.register_forward_hook(keep)
            try:
                logits, _ = run(ids, mask, words=embed_words(ids) + delta.detach())
            finally:
                handle.remove()
            loss = F.cross_entropy(logits, y)
            (loss / outer).backward()
            total = total + loss.detach() / outer
            p = kept["h1"].grad.detach()
        return total

    sift_state = {}

    def sift(ids, mask, y, lam=5.0, step=1e-4, init=1e-2):
        ln = model.bench_base.embeddings.LayerNorm
        if "hook" not in sift_state:
            # hook_sift_layer: the perturbation layer's affine-free LayerNorm on the LayerNorm's input, plus delta.
            def pre(mod, inputs):
                v = F.layer_norm(inputs[0], inputs[0].shape[-1:], eps=1e-7)
                d = sift_state.get("delta")
                return (v if d is None else v.detach() + d,)
            sift_state["hook"] = ln.register_forward_pre_hook(pre)
        sift_state["delta"] = None
        clean, _ = run(ids, mask)
        dim = model.bench_base.embeddings.word_embeddings.weight.shape[-1]
        delta = (torch.randn(*ids.shape, dim, device=ids.device) * init).clamp(-2 * init, 2 * init).requires_grad_()
        sift_state["delta"] = delta
        adv, _ = run(ids, mask)
        p_c = F.softmax(clean.detach(), -1)
        obj = (F.kl_div(F.log_softmax(adv, -1), p_c, reduction="sum") + F.kl_div(F.log_softmax(clean.detach(), -1), F.softmax(adv, -1), reduction="sum"))
        (g,) = torch.autograd.grad(obj, delta)
        delta = (delta + step * g / (1e-6 + g.abs().amax(-1, keepdim=True))).detach()
        sift_state["delta"] = delta
        final, _ = run(ids, mask)
        sift_state["delta"] = None
        R = (-(F.softmax(clean, -1).detach() * F.log_softmax(final, -1)).sum(-1) - (F.softmax(final, -1).detach() * F.log_softmax(clean, -1)).sum(-1)).mean()
        loss = F.cross_entropy(clean, y) + lam * R
        loss.backward()
        return loss

    critic = {}

    def infobert(ids, mask, y, K=3, lr=4e-2, mag=8e-2, beta=5e-3, alpha=5e-3, chunk=32):
        import math

        import numpy as np

        m = mask.unsqueeze(-1).float()
        dim = embed_words(ids[:1, :1]).shape[-1]
        if "F" not in critic:
            H = model.config.hidden_size
            critic["F"] = torch.nn.Sequential(torch.nn.Linear(2 * H, 300), torch.nn.ReLU(), torch.nn.Linear(300, 1), torch.nn.Softplus()).to(ids.device)
            update.add_params(critic["F"].parameters())
        Fc = critic["F"]
        lengths = mask.sum(1).tolist()
        delta = l2_init(ids, dim, m, mag).requires_grad_()
        total = 0.0
        for t in range(K):
            logits, hs = run(ids, mask, words=embed_words(ids) + delta, all_hidden=True)
            h0, hL = hs[0], hs[-1]
            loss = F.cross_entropy(logits, y) / K
            yv = h0[mask.bool()]
            neg = torch.randint(yv.shape[0], (yv.shape[0],), device=ids.device)
            ub = beta * ((yv - yv[neg]) ** 2).sum(-1).div(2).mean() / K
            (loss + ub).backward(retain_graph=True)
            g = delta.grad.detach().clone()
            norms = g.norm(dim=-1)
            rows, pos = [], []
            for i, n in enumerate(lengths):
                order = norms[i, :n].argsort().tolist()
                for k in range(math.ceil(n * 0.5), math.ceil(n * 0.9)):
                    rows.append(i)
                    pos.append(order[k])
            perm = torch.as_tensor(np.random.RandomState(42).permutation(len(rows)))
            r_idx, p_idx = torch.tensor(rows)[perm], torch.tensor(pos)[perm]
            x, yy = h0[r_idx, p_idx], hL[r_idx, 0]
            bounds = []
            for s0 in range(0, len(rows), chunk):
                xc, yc = x[s0:s0 + chunk], yy[s0:s0 + chunk]
                s = xc.shape[0]
                # MI_estimators.InfoNCE: T0 on the pairs, T1 on every (x_j, y_i) through the tiled concatenation.
                t0 = Fc(torch.cat([xc, yc], -1))
                t1 = Fc(torch.cat([xc.unsqueeze(0).expand(s, s, -1), yc.unsqueeze(1).expand(s, s, -1)], -1)).squeeze(-1)
                bounds.append(t0.mean() - (t1.logsumexp(1).mean() - math.log(s)))
            lb = -alpha / K * torch.stack(bounds).mean()
            lb.backward()
            total = total + loss.detach()
            if t == K - 1:
                break
            delta = l2_step(delta, g, m, lr, float("inf")).requires_grad_()
        return total

    return dict(vanilla=vanilla, freelb=freelb, pgd=pgd, creat=creat, smart=smart, rpt=rpt, alum=alum, textat=textat, freeat=freeat, sift=sift, infobert=infobert, yopo=yopo)[method]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="mini")
    p.add_argument("--family", default="bert", choices=sorted(FAMILIES))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--attn", default="sdpa")
    p.add_argument("--methods", default="vanilla,freelb,pgd,creat,smart")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--profile", default=None)
    p.add_argument("--profile-steps", type=int, default=3)
    a = p.parse_args()
    torch.manual_seed(0)
    if a.device == "cpu":
        torch.set_num_threads(a.threads)
    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    for method in a.methods.split(","):
        model, impl, embed_words, run = build(a.model, a.device, a.attn, a.family)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-5)

        class Update:
            """An optimizer update inside a step (FreeAT's replays); add_params: a method's own weights (InfoBERT's critic)."""

            def __call__(self):
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                opt.zero_grad(set_to_none=True)

            def add_params(self, params):
                opt.add_param_group({"params": list(params)})

        fn = step_fn(method, embed_words, run, model, Update())
        lengths = torch.tensor(pad_lengths(a.batch, a.seq), device=a.device)
        mask = (torch.arange(a.seq, device=a.device).unsqueeze(0) < lengths.unsqueeze(1)).long()
        ids = torch.randint(1000, 30000, (a.batch, a.seq), device=a.device) * mask
        y = torch.randint(0, 2, (a.batch,), device=a.device)
        cuda = a.device.startswith("cuda")
        # bf16 as a user writes it: autocast on the run's device (CPU autocast bf16 needs PyTorch >= 1.10).
        amp = torch.autocast("cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16")
        times = []
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        # With --profile, more steps after the timed ones run under the profiler.
        for i in range(a.warmup + a.steps + (a.profile_steps if a.profile else 0)):
            if cuda:
                torch.cuda.synchronize()
            prof = None
            if a.profile and i >= a.warmup + a.steps:
                prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True)
                prof.__enter__()
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            with amp:
                fn(ids, mask, y)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if prof:
                prof.__exit__(None, None, None)
                os.makedirs(a.profile, exist_ok=True)
                prof.export_chrome_trace(os.path.join(a.profile, f"python-{method}-{i - a.warmup - a.steps}.json"))
            if cuda:
                torch.cuda.synchronize()
            if a.warmup <= i < a.warmup + a.steps:
                times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        ms = times[len(times) // 2]
        # CPU: the process's peak RSS (bench/trial.ts's figure), so run one method per process to compare.
        peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(dict(impl=impl, method=method, model=a.model, family=a.family, batch=a.batch, seq=a.seq, precision=a.precision, device=a.device,
                              msPerStep=round(ms, 2), examplesPerSec=round(a.batch * 1000 / ms, 1), tokensPerSec=round(int(mask.sum()) * 1000 / ms), peakMemMB=peak,
                              torch=torch.__version__, blas=blas.group(1) if blas else None, threads=torch.get_num_threads())), flush=True)


if __name__ == "__main__":
    main()
