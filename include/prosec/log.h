/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where libprosec's messages go.  The library never writes to stdout,
 * stderr or syslog by itself: it calls the sink the application installs,
 * and with none installed its messages vanish (STYLE.md "Logging").  No
 * message carries key bytes or plaintext.
 */
#ifndef PROSEC_LOG_H
#define PROSEC_LOG_H

#include "attr.h"

enum prosec_log_level {
    PROSEC_LOG_ERROR = 0,
    PROSEC_LOG_WARN = 1,
    PROSEC_LOG_INFO = 2,
    PROSEC_LOG_DEBUG = 3
};

/* A sink: msg is one line without its newline, valid during the call. */
typedef void (*prosec_log_fn)(void *ctx, enum prosec_log_level level,
                              const char *msg);

/*
 * Installs fn (NULL: discard) for messages up to max (PROSEC_LOG_INFO
 * keeps errors, warnings and information).  Process-wide; set it before
 * starting threads that log.
 */
PROSEC_API void prosec_log_set(prosec_log_fn fn, void *ctx,
                               enum prosec_log_level max);

/*
 * A ready sink for daemons: writes "TIME LEVEL TAG: msg" to standard error
 * as one write(2), TIME in UTC to the millisecond; ctx is the tag (a
 * const char *, e.g. "kmf"), or NULL.
 */
PROSEC_API void prosec_log_stderr(void *ctx, enum prosec_log_level level,
                                  const char *msg);

/* "error", "warn", "info", "debug". */
PROSEC_API const char *prosec_log_level_name(enum prosec_log_level level);

/* Parses those names.  Returns 0 on success, -1 for an unknown name. */
PROSEC_API int prosec_log_level_parse(const char *name,
                                      enum prosec_log_level *out);

#endif
