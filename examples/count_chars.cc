// Seed: a Pool counting the characters of files - map, map_async, and
// map_async with callback and error_callback.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "mp/mp.h"

int64_t count_chars(std::string filename) {
  std::ifstream fin(filename);
  if (!fin)
    throw mp::ValueError("No such file or directory: '" + filename + "'");
  std::stringstream content;
  content << fin.rdbuf();
  return static_cast<int64_t>(content.str().size());
}

int main(int argc, char** argv) {
  mp::init(argc, argv);
  // The seed reads file1..file4; make them, of 10, 20, 30 and 40 characters.
  const auto dir = std::filesystem::temp_directory_path() /
                   ("mp-count-chars-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::vector<std::string> filelist;
  for (int i = 1; i <= 4; ++i) {
    std::string name = (dir / ("file" + std::to_string(i))).string();
    std::ofstream(name) << std::string(10 * i, 'x');
    filelist.push_back(name);
  }
  {
    mp::Pool pool(2);
    std::cout << mp::to_object(pool.map(count_chars, filelist)) << "\n";
    auto async_result = pool.map_async(count_chars, filelist);
    std::cout << mp::to_object(async_result.get()) << "\n";
    auto with_callbacks = pool.map_async(
        count_chars, filelist, 0,
        [](const std::vector<int64_t>& result) {
          std::cout << "Get result " << mp::to_object(result) << "\n";
        },
        [](const mp::Error& e) {
          std::cout << "Throw exception " << e.what() << "\n";
        });
    with_callbacks.wait();
    std::vector<std::string> missing = {filelist[0], (dir / "nope").string()};
    auto failing = pool.map_async(
        count_chars, missing, 0, [](const std::vector<int64_t>&) {},
        [](const mp::Error& e) {
          std::cout << "Throw exception " << e.message() << "\n";
        });
    failing.wait();
  }
  std::filesystem::remove_all(dir);
}
