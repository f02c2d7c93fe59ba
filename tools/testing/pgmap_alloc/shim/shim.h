/* SPDX-License-Identifier: GPL-2.0 */
/* What the harness drives in the shim kernel (see shim.c). */
#ifndef SHIM_H
#define SHIM_H

#include "kernel.h"

extern bool shim_quiet_warnings;
extern unsigned long shim_fail_countdown;
extern unsigned long shim_allocs_failed;
extern __thread int shim_rcu_depth;

/* Every thread that calls into the kernel code starts and stops with these. */
void shim_thread_start(void);
void shim_thread_stop(void);
/* Be @cpu from now on; @own: the only task thread of @cpu (see kernel.h). */
void shim_set_cpu(int cpu, bool own);
void shim_release_cpu(int cpu);
/* Run work this thread may run that is due: up to 64 items. */
int shim_run_work(void);
void shim_advance(unsigned long ms);
void shim_cpu_offline(int cpu);
void shim_cpu_online(int cpu);
unsigned long shim_shrink(void);

/* liburcu, in urcu.c: its headers clash with kernel.h. */
void shim_urcu_read_lock(void);
void shim_urcu_read_unlock(void);
void shim_urcu_synchronize(void);
void shim_urcu_register(void);
void shim_urcu_unregister(void);
void shim_urcu_quiescent(void);

#endif
