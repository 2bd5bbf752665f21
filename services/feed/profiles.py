"""Shopper profiles: the interests chosen at onboarding, stored in MongoDB."""

import re
from typing import Any

from pydantic import BaseModel, Field, field_validator
from pymongo.asynchronous.collection import AsyncCollection

from shared.events import utc_now

MAX_INTERESTS = 20
INTEREST_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


class InterestsIn(BaseModel):
    interests: list[str] = Field(min_length=1, max_length=MAX_INTERESTS)

    @field_validator("interests")
    @classmethod
    def _check_names(cls, interests: list[str]) -> list[str]:
        cleaned = list(dict.fromkeys(name.strip().lower() for name in interests))
        for name in cleaned:
            if not INTEREST_PATTERN.match(name):
                raise ValueError(
                    f"interest {name!r} is invalid; use 1-32 lower-case letters, "
                    "digits or '-'"
                )
        return cleaned


class ProfileStore:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def interests_of(self, user_id: str) -> list[str]:
        document = await self.collection.find_one({"_id": user_id})
        if document is None:
            return []
        interests: list[str] = document["interests"]
        return interests

    async def set_interests(self, user_id: str, interests: list[str]) -> None:
        await self.collection.update_one(
            {"_id": user_id},
            {"$set": {"interests": interests, "updated_at": utc_now()}},
            upsert=True,
        )
