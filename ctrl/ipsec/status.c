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
	return 0;
}

void st_ipsec_dp_reload(struct st_ipsec_dp *dp)
{
	if (dp)
		atomic_store(&dp->reload, 1);
}
