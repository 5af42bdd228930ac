// Symbol export for MLForge. Everything not marked MLFORGE_API stays hidden in the shared library.
#pragma once

#if defined(_WIN32)
#if defined(MLFORGE_BUILDING_SHARED)
#define MLFORGE_API __declspec(dllexport)
#elif defined(MLFORGE_USING_SHARED)
#define MLFORGE_API __declspec(dllimport)
#else
#define MLFORGE_API
#endif
#else
#define MLFORGE_API __attribute__((visibility("default")))
#endif
