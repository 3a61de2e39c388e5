#ifndef AIRLOCK_CCURL_SHIM_H
#define AIRLOCK_CCURL_SHIM_H
#include <curl/curl.h>
#endif
