// Run a package written by `tympan export` on raw float32 audio, with no Python and no pipeline source.
//
//   run_pipeline PACKAGE.pt2 INPUT.f32 BATCH OUTPUT.f32
//
// INPUT.f32 holds BATCH rows of samples (float32, native byte order); OUTPUT.f32 receives the output
// tensor's values in the same layout, and its shape is printed with the package's tympan version.
#include <ATen/ATen.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: run_pipeline PACKAGE.pt2 INPUT.f32 BATCH OUTPUT.f32\n";
    return 2;
  }
  std::ifstream input(argv[2], std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(input)), std::istreambuf_iterator<char>());
  const int64_t batch = std::stoll(argv[3]);
  const int64_t frames = static_cast<int64_t>(bytes.size() / sizeof(float)) / batch;
  at::Tensor waveform = at::from_blob(bytes.data(), {batch, frames}, at::kFloat).clone();

  torch::inductor::AOTIModelPackageLoader loader(argv[1]);
  std::vector<at::Tensor> outputs = loader.run({waveform});
  at::Tensor out = outputs[0].contiguous();

  std::ofstream(argv[4], std::ios::binary)
      .write(reinterpret_cast<const char*>(out.data_ptr<float>()), out.numel() * sizeof(float));
  std::cout << out.sizes() << " tympan " << loader.get_metadata()["tympan.version"] << "\n";
  return 0;
}
