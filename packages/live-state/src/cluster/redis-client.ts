import type { Cluster, Redis } from 'ioredis';

/** One Redis or a Redis Cluster: the cross-slot readers take either and send only one-slot commands. */
export type AnyRedis = Redis | Cluster;
