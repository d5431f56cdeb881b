#include "cli/app.hpp"

int main(int argc, char** argv) {
  return csnap::cli::run(argc, argv);
}
