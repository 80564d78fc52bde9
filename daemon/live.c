#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"

void
live_init(struct live *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	l->next_id = 1;
}

void
live_free(struct live *l)
{
	for (int i = 0; i < LIVE_RING; i++)
		free(l->ring[i].data);
	for (int i = 0; i < l->ndev; i++)
		free(l->dev[i].json);
	pthread_mutex_destroy(&l->mu);
}

struct live_device *
live_device_find(struct live *l, int64_t id)
{
	for (int i = 0; i < l->ndev; i++)
		if (l->dev[i].id == id)
			return &l->dev[i];
	return NULL;
}

struct live_device *
live_device_get(struct live *l, int64_t id)
{
	struct live_device *d = live_device_find(l, id);

	if (d != NULL || l->ndev == LIVE_MAX_DEVICES)
		return d;
	d = &l->dev[l->ndev++];
	memset(d, 0, sizeof(*d));
	d->id = id;
	return d;
}

void
live_device_remove(struct live *l, int64_t id)
{
	struct live_device *d = live_device_find(l, id);

	if (d == NULL)
		return;
	free(d->json);
	*d = l->dev[--l->ndev];
}

uint64_t
live_oldest(const struct live *l)
{
	return l->next_id > LIVE_RING ? l->next_id - LIVE_RING : 1;
}

void
live_publish(struct live *l, const char *type, const char *json)
{
	struct live_event *e = &l->ring[l->next_id % LIVE_RING];

	free(e->data);
	e->id = l->next_id++;
	snprintf(e->type, sizeof(e->type), "%s", type);
	e->data = strdup(json);
	l->events_published++;
	if (l->wake != NULL)
		l->wake(l->wake_arg);
}
