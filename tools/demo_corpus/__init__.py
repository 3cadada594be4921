"""Build the bundled demo corpus: real and synthetic ("fake") speech in the FoR layout.

The corpus lets the workflow and its tests run end to end without downloading a data set.
Everything it uses is installed from Debian packages by ``tools/install-system-deps.sh``:

* real: human recordings shipped as files by ``codec2-examples`` (speech samples the Codec 2
  project uses for listening tests) and ``alsa-utils`` (the spoken "Front Left" etc. test
  sounds of ``speaker-test``), see :mod:`.sources`;
* fake: text-to-speech from ``espeak-ng`` (formant synthesis) and ``flite`` (CMU diphone and
  clustergen voices), reading a fixed list of sentences, see :mod:`.tts`.

Layout: ``OUT_DIR/{training,validation,testing}/{real,fake}/<name>.<ext>`` plus ``CORPUS.json``,
a manifest written last that lists every file with its sha256, source and licence
(:mod:`.assemble`).

Both classes go through the same output stage (sample rate, channels, container, gain,
padding, file name; :mod:`.output`), drawn from the same distribution independently of the
class, so that format properties carry no label information. Real clips are only cropped,
gain-scaled and resampled: nothing that would make them sound processed or synthetic.

It lives outside ``src/`` because it needs espeak-ng, flite and files of Debian packages that
an installed fraudprep must not depend on.

Usage, from the project root: ``python -m tools.demo_corpus OUT_DIR [--small] [--seed N]
[--protocol FILE]``.
"""
