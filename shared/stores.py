"""Clients for the stores: MongoDB through PyMongo's async API, and Redis."""

from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from shared.settings import Settings


def connect_mongo(settings: Settings) -> AsyncMongoClient[dict[str, object]]:
    return AsyncMongoClient(
        settings.mongo_url, serverSelectionTimeoutMS=5000, tz_aware=True
    )


def connect_redis(settings: Settings) -> "Redis":
    return Redis.from_url(settings.redis_url, decode_responses=True)
