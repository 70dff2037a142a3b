#include <catch2/catch.hpp>

#include "policy/address.h"
