"""What every answer of the API is made from: the use-cases' views, read by attribute."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Answer"]


class Answer(BaseModel):
    """An answer filled from a use-case's view (``Answer.model_validate(view)``)."""

    model_config = ConfigDict(from_attributes=True)
