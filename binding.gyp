{
  "targets": [
    {
      "target_name": "sgfw_native",
      "sources": [
        "<!@(find native -name '*.cc' -not -path 'native/fuzz/*' | LC_ALL=C sort)"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++1y"],
      "cflags_cc": ["-std=c++20", "-O2", "-fno-exceptions", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["-lnetfilter_queue", "-lmnl", "-lpthread", "-ldl"]
    }
  ]
}
