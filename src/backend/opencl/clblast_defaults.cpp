// clblast_defaults.cpp - CLBlast's own GEMM parameters for a device, for the tuner.
//
// The search needs CLBlast's defaults as explicit values: to re-apply them for a
// transposition where they beat every candidate, and to say what they were. CLBlast
// 1.5 offers that (RetrieveParameters) only in its C++ API; this file is the one
// function of the program written in C++, to call it from C.
#include <clblast.h>

#include <string>
#include <unordered_map>

#include "clblast_defaults.h"

extern "C" int tr_clblast_retrieve(cl_device_id dev, const char *kernel, size_t n,
				   const char *const *names, size_t *values)
{
	try {
		std::unordered_map<std::string, size_t> params;
		clblast::StatusCode st = clblast::RetrieveParameters(
			dev, kernel, clblast::Precision::kSingle, params);

		if (st != clblast::StatusCode::kSuccess)
			return static_cast<int>(st);
		for (size_t i = 0; i < n; i++) {
			auto it = params.find(names[i]);

			if (it == params.end())
				return static_cast<int>(
					clblast::StatusCode::kMissingOverrideParameter);
			values[i] = it->second;
		}
	} catch (...) {
		return static_cast<int>(clblast::StatusCode::kUnknownError);
	}
	return static_cast<int>(clblast::StatusCode::kSuccess);
}
