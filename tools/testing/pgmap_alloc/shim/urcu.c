// SPDX-License-Identifier: GPL-2.0
/*
 * RCU for the harness: liburcu's memory-barrier flavour, as the radix-tree
 * harness uses; the benchmark builds with SHIM_RCU_QSBR, the QSBR flavour,
 * whose readers cost nothing, like the kernel's. Apart from shim.c because
 * liburcu's headers define names (struct rcu_head) that kernel.h does too.
 */
#ifdef SHIM_RCU_QSBR
#include <urcu/urcu-qsbr.h>
#define flavour(name)	urcu_qsbr_##name
#else
#include <urcu/urcu-memb.h>
#define flavour(name)	urcu_memb_##name
#endif

void shim_urcu_read_lock(void)
{
	flavour(read_lock)();
}

void shim_urcu_read_unlock(void)
{
	flavour(read_unlock)();
}

void shim_urcu_synchronize(void)
{
	flavour(synchronize_rcu)();
}

void shim_urcu_register(void)
{
	flavour(register_thread)();
}

void shim_urcu_unregister(void)
{
	flavour(unregister_thread)();
}

/* A quiescent state: only QSBR needs to be told. */
void shim_urcu_quiescent(void)
{
#ifdef SHIM_RCU_QSBR
	urcu_qsbr_quiescent_state();
#endif
}
