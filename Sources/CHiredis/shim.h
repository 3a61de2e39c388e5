#ifndef AIRLOCK_CHIREDIS_SHIM_H
#define AIRLOCK_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
