/* ctrl/ipsec/status.c - the side of the IPsec data path that other
 * threads call (the API, metrics, reloads): a copy of the status the
 * worker last published, and a reload request. Apart from dp.c so that
 * the API links without the XDP engine. */
#include <errno.h>
#include <string.h>
#include "ctrl/ipsec/dp_int.h"

int st_ipsec_dp_status(struct st_ipsec_dp *dp, struct st_ipsec_status *out)
{
	if (!dp) {
		memset(out, 0, sizeof(*out));
		return -ENODEV;
	}
	pthread_mutex_lock(&dp->lock);
	*out = *dp->snap;
	pthread_mutex_unlock(&dp->lock);
	out->drop_records_lost = atomic_load_explicit(&dp->drec_lost, memory_order_relaxed);
	return 0;
}

size_t st_ipsec_dp_drain(struct st_ipsec_dp *dp,
			 void (*cb)(void *arg, const struct st_ipsec_droprec *r), void *arg)
{
	uint64_t t, h;
	size_t n = 0;

	if (!dp)
		return 0;
	t = atomic_load_explicit(&dp->drec_tail, memory_order_relaxed);
	h = atomic_load_explicit(&dp->drec_head, memory_order_acquire);
	for (; t != h; t++, n++)
		cb(arg, &dp->drec[t & (ST_IPSEC_DROPREC_RING - 1)]);
	atomic_store_explicit(&dp->drec_tail, t, memory_order_release);
	return n;
}

void st_ipsec_dp_reload(struct st_ipsec_dp *dp)
{
	if (dp)
		atomic_store(&dp->reload, 1);
}
