#ifndef AIRLOCK_CCURL_SHIM_PUBLIC_H
#define AIRLOCK_CCURL_SHIM_PUBLIC_H
#include <curl/curl.h>

/* curl_easy_setopt / curl_multi_setopt / curl_easy_getinfo are variadic, which Swift cannot call.
   One typed function per argument kind. */
CURLcode airlock_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode airlock_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode airlock_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode airlock_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode airlock_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode airlock_easy_setopt_write_callback(CURL *handle, CURLoption option, curl_write_callback value);
CURLcode airlock_easy_setopt_xferinfo_callback(CURL *handle, curl_xferinfo_callback value);
CURLMcode airlock_multi_setopt_long(CURLM *multi, CURLMoption option, long value);
CURLcode airlock_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode airlock_easy_getinfo_double(CURL *handle, CURLINFO info, double *value);
CURLcode airlock_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value);

/* Constants that Swift imports awkwardly (macros built from expressions). */
static inline size_t airlock_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline int airlock_pause_cont(void) { return CURLPAUSE_CONT; }
static inline long airlock_http_version_2tls(void) { return CURL_HTTP_VERSION_2TLS; }
static inline long airlock_pipe_multiplex(void) { return CURLPIPE_MULTIPLEX; }
static inline CURLMSG airlock_msg_done(void) { return CURLMSG_DONE; }
static inline CURLcode airlock_msg_result(CURLMsg *msg) { return msg->data.result; }

#endif
