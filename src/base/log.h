/* log: logcap's own diagnostic log on stderr, with levels, a component prefix written by
 * the caller ("[docker:web-1] ..."), and rate limiting of repeated messages. Thread-safe. */
#ifndef LC_LOG_H
#define LC_LOG_H

enum lc_log_level {
    LC_LOG_ERROR = 0,
    LC_LOG_WARN = 1,
    LC_LOG_INFO = 2,
    LC_LOG_DEBUG = 3,
};

void lc_log_set_level(enum lc_log_level level);
enum lc_log_level lc_log_get_level(void);

/* Parses "error|warn|info|debug". Returns 0 or -EINVAL. */
int lc_log_level_parse(const char *s, enum lc_log_level *out);

/* Logs one line. ERR is a positive or negative errno to append as ": strerror", or 0.
 * The same format string logged more than 10 times in one minute is suppressed, and the
 * count of suppressed lines is reported when the minute ends. */
void lc_log(enum lc_log_level level, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
