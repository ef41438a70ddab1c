"""The trial finder page and its API endpoint (being built: issue 7)."""

from fastapi import APIRouter

router = APIRouter()
