"""Speech: audio from any media file PyAV reads, speech to text with faster-whisper, and the
scoring of transcripts. A general library: it knows no system (the lecture summaries use it, and
the dialogue bot's voice messages will)."""
