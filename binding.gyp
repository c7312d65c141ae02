{
  # The second build path (`npx node-gyp rebuild`): the same CPU addon as CMakeLists.txt, with the same
  # libtorch discovery (scripts/libtorch.mjs). CUDA kernels are built by the cmake-js path only.
  "targets": [
    {
      "target_name": "advtrain",
      "sources": ["<!@(node scripts/native-sources.mjs)"],
      "include_dirs": [
        "native",
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch.mjs --include-dirs)"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS", "ADVTRAIN_BUILD_TYPE=\"Release\"",
                  "ADVTRAIN_TORCH_LIB_DIR=\"<!(node scripts/libtorch.mjs --lib-dir)\""],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "<!@(node scripts/libtorch.mjs --cxx-flags)"],
      "libraries": ["<!@(node scripts/libtorch.mjs --libs)"]
    }
  ]
}
