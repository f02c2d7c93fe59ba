// SPDX-License-Identifier: GPL-2.0
/*
 * RCU for the harness: liburcu's memory-barrier flavour, as the radix-tree
 * harness uses. Apart from shim.c because liburcu's headers define names
 * (struct rcu_head) that kernel.h defines too.
 */
#include <urcu/urcu-memb.h>

void shim_urcu_read_lock(void)
{
	urcu_memb_read_lock();
}

void shim_urcu_read_unlock(void)
{
	urcu_memb_read_unlock();
}

void shim_urcu_synchronize(void)
{
	urcu_memb_synchronize_rcu();
}

void shim_urcu_register(void)
{
	urcu_memb_register_thread();
}

void shim_urcu_unregister(void)
{
	urcu_memb_unregister_thread();
}
