// Catch2's main() and implementation, compiled once.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
