"""/api/v1: the JSON API (to be filled)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["api"])
