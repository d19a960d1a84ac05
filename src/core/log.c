/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log sink of libprosec and its rate limiter.  Messages are formatted
 * into a bounded stack buffer (a longer one is cut), so logging never
 * allocates.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

static prosec_log_fn sink;
static void *sink_ctx;
static enum prosec_log_level sink_max = PROSEC_LOG_INFO;

void prosec_log_set(prosec_log_fn fn, void *ctx, enum prosec_log_level max)
{
    sink = fn;
    sink_ctx = ctx;
    sink_max = max;
}

const char *prosec_log_level_name(enum prosec_log_level level)
{
    switch (level) {
    case PROSEC_LOG_ERROR:
        return "error";
    case PROSEC_LOG_WARN:
        return "warn";
    case PROSEC_LOG_INFO:
        return "info";
    case PROSEC_LOG_DEBUG:
        return "debug";
    }
    return "unknown";
}

int prosec_log_level_parse(const char *name, enum prosec_log_level *out)
{
    static const enum prosec_log_level all[] = {
        PROSEC_LOG_ERROR, PROSEC_LOG_WARN, PROSEC_LOG_INFO, PROSEC_LOG_DEBUG};

    for (size_t i = 0; name != NULL && i < 4; i++) {
        if (strcmp(name, prosec_log_level_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return -1;
}

void prosec_log_stderr(void *ctx, enum prosec_log_level level, const char *msg)
{
    char line[PROSEC__LOG_MAX + 96];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int k;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    k = snprintf(line + n, sizeof(line) - n, ".%03ldZ %-5s %s%s%s\n",
                 ts.tv_nsec / 1000000, prosec_log_level_name(level),
                 ctx != NULL ? (const char *)ctx : "", ctx != NULL ? ": " : "",
                 msg);
    if (k < 0) {
        return;
    }
    n += (size_t)k < sizeof(line) - n ? (size_t)k : sizeof(line) - n - 1;
    /* one write, so lines of two processes sharing stderr do not mix */
    if (write(STDERR_FILENO, line, n) < 0) {
        return;
    }
}

bool prosec__log_enabled(enum prosec_log_level level)
{
    return sink != NULL && level <= sink_max;
}

void prosec__log(enum prosec_log_level level, const char *fmt, ...)
{
    char msg[PROSEC__LOG_MAX];
    va_list ap;

    if (!prosec__log_enabled(level)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sink(sink_ctx, level, msg);
}

bool prosec__ratelimit(struct prosec__ratelimit *rl, int64_t now_ms)
{
    /* a token bucket: burst of rl->burst, refilled one per interval */
    if (rl->last_ms == 0 || now_ms - rl->last_ms >= rl->interval_ms) {
        int64_t refill = rl->last_ms == 0
                             ? rl->burst
                             : (now_ms - rl->last_ms) / rl->interval_ms;

        rl->tokens = refill > rl->burst ? rl->burst : rl->tokens + refill;
        if (rl->tokens > rl->burst) {
            rl->tokens = rl->burst;
        }
        rl->last_ms = now_ms;
    }
    if (rl->tokens > 0) {
        rl->tokens--;
        return true;
    }
    rl->suppressed++;
    return false;
}

static _Thread_local char detail[PROSEC__LOG_MAX];

const char *prosec_error_detail(void)
{
    return detail;
}

void prosec__detail_clear(void)
{
    detail[0] = '\0';
}

prosec_err prosec__fail(prosec_err err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return err;
}

void prosec__log_set_level(enum prosec_log_level max)
{
    sink_max = max;
}
