#ifndef AIRLOCK_COPENBLAS_SHIM_H
#define AIRLOCK_COPENBLAS_SHIM_H
#include <cblas.h>
/* Debian's OpenBLAS exports these from libopenblas; cblas.h declares them. */
#endif
