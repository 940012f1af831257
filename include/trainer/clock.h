/*
 * clock.h - the one clock for measuring durations: monotonic, in seconds, unaffected by
 * changes of the wall clock (rates, ETAs, checkpoint intervals, benchmarks).
 */
#ifndef TRAINER_CLOCK_H
#define TRAINER_CLOCK_H

/* Seconds on CLOCK_MONOTONIC since an arbitrary start; only differences mean anything. */
double tr_now_seconds(void);

#endif /* TRAINER_CLOCK_H */
