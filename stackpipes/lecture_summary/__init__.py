"""lecture_summary: a lecture's video or audio -> 16 kHz audio -> transcript -> summary -> PDF.

The lecture's identity is the SHA-256 of its file's bytes: a file already summarised is not done
again, whatever its name. Names used across its modules, steps and tests live here.
"""

PIPELINE = "lecture_summary"
SYSTEM = "lecture_summary"       # its folder under the raw root and under reports/
TRANSCRIPT_ARTIFACT = "transcript"
PDF_ARTIFACT = "lecture_pdf"
SUMMARY_ARTIFACT = "lecture_summary"
MAX_FILE_BYTES = 64 * 1024**3    # a file larger than this is refused before it is read
