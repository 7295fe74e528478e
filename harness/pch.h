// Precompiled header: the heavy, stable headers every LibTorch translation unit needs. Parsing ATen
// takes ~6 s per file on the CI machine; with this header compiled once, each file costs ~1-2 s.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>
