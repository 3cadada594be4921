"""fraudprep: bounded-memory feature extraction for audio-deepfake detectors."""

__version__ = "0.1.0"
