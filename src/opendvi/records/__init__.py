"""Records: missing-person reports and unidentified remains — added and changed (from a
form, the API or an import), their photos kept and their faces found, listed, and read one
at a time with their photos, candidates and history.

    from opendvi.records import add_record, page_of_records, record_detail
"""

from opendvi.records.closing import close_case, release_remains
from opendvi.records.faces import add_manual_face, choose_subject, detect_faces
from opendvi.records.history import record_history
from opendvi.records.intake import (
    SaveResult,
    Upload,
    add_record,
    change_record,
    save_parsed,
    save_record,
)
from opendvi.records.lists import Filters, RecordPage, page_of_records
from opendvi.records.page import RecordDetail, faces_of, form_values, record_detail
from opendvi.records.photos import StoredPhoto, store_photo
from opendvi.records.views import FaceView, PhotoView, RecordView
from opendvi.records.withdrawal import Withdrawal, withdraw_photo, withdraw_report

__all__ = [
    "FaceView",
    "Filters",
    "PhotoView",
    "RecordDetail",
    "RecordPage",
    "RecordView",
    "SaveResult",
    "StoredPhoto",
    "Upload",
    "Withdrawal",
    "add_manual_face",
    "add_record",
    "change_record",
    "choose_subject",
    "close_case",
    "detect_faces",
    "faces_of",
    "form_values",
    "page_of_records",
    "record_detail",
    "record_history",
    "release_remains",
    "save_parsed",
    "save_record",
    "store_photo",
    "withdraw_photo",
    "withdraw_report",
]
