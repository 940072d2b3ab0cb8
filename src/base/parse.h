/* Strict parsers for numbers, sizes and times: they reject empty strings,
 * trailing garbage, signs where none belong, and overflow. Never atoi. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

int parse_u64(const char *s, uint64_t *ret);
int parse_i64(const char *s, int64_t *ret);
int parse_u32(const char *s, uint32_t *ret);
int parse_int(const char *s, int *ret);
/* 1..4194304 (PID_MAX_LIMIT) */
int parse_pid(const char *s, pid_t *ret);
/* "1234", "64K", "1.5G", "10M", "2T"; binary units (K = 1024). */
int parse_size(const char *s, uint64_t *ret);
/* "10%": returns the percent in *ret_percent and 1; or a size and 0. */
int parse_size_or_percent(const char *s, uint64_t *ret_size, unsigned *ret_percent);
/* Durations: "90", "30s", "10min", "2h", "14d", "1w" -> seconds. */
int parse_duration(const char *s, uint64_t *ret_sec);
/* A systemd.time(7) time span: "5min", "1h 30min", "2.5h", "1 hour", "90"
 * (seconds); units usec, ms, s, min/m, h, d, w, M (months), y. */
int parse_timespan(const char *s, int64_t *ret_usec);
/* A systemd.time(7) timestamp, pure but for the local time zone
 * (localtime_r/mktime): "now", "today", "yesterday", "tomorrow", "epoch";
 * "@EPOCH[.FRAC]"; "-SPAN", "+SPAN", "SPAN ago", "SPAN left" relative to
 * now_usec; "[WEEKDAY ][YY]YY-MM-DD[( |T)HH:MM[:SS[.FRAC]]][ UTC|ZONE]" and
 * "HH:MM[:SS]" (today): local time unless UTC or the local zone's
 * abbreviation ends it; a date without a time is its midnight. Result in
 * microseconds since the epoch. */
int parse_time_spec(const char *s, int64_t now_usec, int64_t *ret_usec);
/* "yes/no/true/false/on/off/1/0" */
int parse_bool(const char *s, int *ret);
