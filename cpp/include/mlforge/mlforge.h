// Umbrella header: everything MLForge offers.
#pragma once

#include "mlforge/aggregate.h"
#include "mlforge/api.h"
#include "mlforge/array.h"
#include "mlforge/dedup.h"
#include "mlforge/device.h"
#include "mlforge/error.h"
#include "mlforge/kernels.h"
#include "mlforge/parallel.h"
#include "mlforge/privacy.h"
#include "mlforge/random.h"
#include "mlforge/replay.h"
#include "mlforge/scheduler.h"
#include "mlforge/secure_agg.h"
#include "mlforge/version.h"
