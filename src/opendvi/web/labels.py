"""What each field of a record is called on a form, with a hint of what to write: the
pages' forms and the API's description of a new record say the same."""

from __future__ import annotations

__all__ = ["LABELS"]

LABELS: dict[str, tuple[str, str]] = {
    "ref": ("Reference", "your case number, unique"),
    "full_name": ("Full name", ""),
    "other_names": ("Other names", "nicknames, maiden name"),
    "sex": ("Sex", ""),
    "birth_date": ("Date of birth", "YYYY-MM-DD, or YYYY-MM, or YYYY"),
    "birth_year": ("Year of birth", "when only the year is known"),
    "height_cm": ("Height (cm)", "e.g. 172 or 170-180"),
    "hair": ("Hair", ""),
    "eyes": ("Eyes", ""),
    "description": ("Description", ""),
    "circumstances": ("Circumstances", "how and where they went missing"),
    "last_seen_date": ("Last seen", "YYYY-MM-DD, or a range 2024-05-01..2024-05-10"),
    "last_seen_place": ("Last seen at", "place; optionally lat,lon"),
    "event": ("Event", "code of the disaster or incident, if any"),
    "marks": ("Marks and tattoos", "location: description; e.g. left forearm: anchor tattoo"),
    "effects": ("Clothing and effects", "separated by semicolons"),
    "contact_name": ("Reporting contact: name", ""),
    "contact_relationship": ("Relationship", "e.g. mother"),
    "contact_email": ("E-mail", ""),
    "contact_phone": ("Phone", ""),
    "contact_language": ("Language", "e.g. uk, es, ar"),
    "consent_contact": ("Consents to be contacted", ""),
    "contact_channels": ("Channels they chose", "e.g. in_person,phone"),
    "contact_sharing": ("Sharing", "who may see their details"),
    "age_min": ("Estimated age from", "years"),
    "age_max": ("to", "years"),
    "height_min_cm": ("Estimated height from (cm)", ""),
    "height_max_cm": ("to (cm)", ""),
    "found_date": ("Found on", "YYYY-MM-DD, or a range 2024-05-01..2024-05-10"),
    "found_place": ("Found at", "place; optionally lat,lon"),
    "condition": ("Condition", "of the remains when found"),
    "storage_location": ("Stored at", "mortuary, drawer"),
}
