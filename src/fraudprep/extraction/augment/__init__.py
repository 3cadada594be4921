"""Augmented training copies: codecs, telephone channel, RawBoost, additive noise and reverb.

Detectors trained on clean studio audio fail on phone calls and compressed uploads, so the
extraction job can make degraded copies of each training file. Everything here is a pure
function of (samples, rate, pool entry, random generator): the generator of a copy comes from
:func:`copy_rng`, a hash of (file key, copy index, seed), so a copy is the same whichever
chunk or process makes it.

The config's pool is a list of entries, each parsed by :func:`parse_pool` into its kind's
frozen dataclass; :func:`choose` picks an entry for a copy and :func:`augment` applies it,
returning the audio (mono float32, same rate and length as the input, finite, within
[-1, 1]) and the parameters it drew, JSON-ready, for the copy's metadata.

The package:

- :mod:`.registry`: what a kind is (:class:`Kind`), :func:`register`, and the kinds' order;
- :mod:`.config`: the ``augmentation`` block (:class:`AugmentationPlan`) and its pool's parse;
- :mod:`.copies`: one copy's generator, entry and application, and what every copy promises;
- :mod:`.dsp`: resampling and FFT convolution shared by kinds; :mod:`.folders`: the folders
  of audio files the noise and reverb kinds draw from;
- :mod:`.kinds`: one module per kind: ``codec``, ``telephone``, ``rawboost``, ``noise``,
  ``reverb``.

Adding a kind is one new file in ``kinds/``: its frozen entry dataclass (a subclass of
:class:`Augmentation`), its parse (config mapping to entry, raising AugmentationConfigError
that names ``where`` and the key) and its apply (samples to copy and the parameters drawn), and
at the end ``register(Kind(name=..., position=..., entry=..., keys=..., parse=..., apply=...))``.
The registry imports every module of ``kinds/`` the first time a kind is asked for, so no list
is edited; ``position`` (the next free number) places the kind in the list that config errors
show (:data:`KINDS`). The kinds' entry classes are also exported here for the code that
imported them from this module before it was a package; a new kind's is reached from its own.

The package is one entry of the extraction's code version (``FEATURE_MODULES`` in
:mod:`fraudprep.run.provenance`), covering all its files, kinds/ included.
"""

from fraudprep.extraction.augment.config import (
    MAX_COPIES,
    AugmentationConfigError,
    AugmentationPlan,
    parse_entry,
    parse_pool,
)
from fraudprep.extraction.augment.copies import augment, choose, copy_rng
from fraudprep.extraction.augment.folders import AUDIO_EXTENSIONS
from fraudprep.extraction.augment.kinds.codec import CODECS, MISSING_CODECS, Codec, codec_roundtrip
from fraudprep.extraction.augment.kinds.noise import Noise
from fraudprep.extraction.augment.kinds.rawboost import RawBoost
from fraudprep.extraction.augment.kinds.reverb import Reverb
from fraudprep.extraction.augment.kinds.telephone import Telephone
from fraudprep.extraction.augment.registry import Augmentation, Kind, kind_names, register

KINDS = kind_names()

__all__ = [
    "AUDIO_EXTENSIONS",
    "CODECS",
    "KINDS",
    "MAX_COPIES",
    "MISSING_CODECS",
    "Augmentation",
    "AugmentationConfigError",
    "AugmentationPlan",
    "Codec",
    "Kind",
    "Noise",
    "RawBoost",
    "Reverb",
    "Telephone",
    "augment",
    "choose",
    "codec_roundtrip",
    "copy_rng",
    "parse_entry",
    "parse_pool",
    "register",
]
