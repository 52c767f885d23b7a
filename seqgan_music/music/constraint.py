"""Well-formed decoding for the `form` representation: which tokens may come next.

`FormConstraint` follows a batch of token prefixes (numpy arrays, one entry per row) and says,
for each row, which tokens keep the tune well formed:

- the first token is a start token (the meter); a bar holds exactly its meter's sixteenths: a
  note, hold or rest that would overflow the bar is masked, and a full bar must get its bar line;
  the first bar line may come early (a pick-up), and a bar just before a repeat end or a part
  boundary may be short by the pick-up's length (the written convention);
- repeats are well formed: a first ending only inside a strain, closed by a repeat end within
  two bars and followed by the second ending;
- the end of the tune only after a final bar line ("||" or ":|"), with no first ending open, at
  a phrase boundary (a multiple of `phrase` bars as played, at least `min_bars`), and always by
  `max_bars`;
- `bars=N`: exactly N bars as played (repeats counted twice); `form="AABB"`: strains of equal
  length (`bars / len(form)`, default 8 bars each), a letter doubled is a repeated strain.

The same object gives the generator its metrical input (`ids`: position in the bar and bar in
the strain) for sampling and, through `track`, for teacher forcing, so training and sampling see
the same positions. The sampler (`core.generator.Generator.sample`, the roll-outs, compose's numpy
sampler) applies `allowed` before drawing, so REINFORCE updates the policy that samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seqgan_music.errors import ConfigError

_MAJOR = np.array((6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88))
_MINOR = np.roll(np.array((6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34,
                           3.17)), 9)  # A minor
# every major key's profile (tonic 0..11), then every minor key's, centred: the best match of a
# tune's centred pitch-class durations is its key (`keys.estimate_key`)
_KEYS = np.stack([np.roll(p - p.mean(), t) for p in (_MAJOR, np.roll(_MINOR, -9))
                  for t in range(12)])
POSITIONS = 32  # position-in-bar ids 0..30 (sixteenths), 31: before the start / after the end
BAR_IDS = 8  # bar in the strain, modulo 8
PICKUP_ID = POSITIONS + BAR_IDS  # 40: in the pick-up
DONE_ID = PICKUP_ID + 1  # 41: ended
NUM_IDS = DONE_ID + 1


def parse_form(form: str) -> list[bool]:
    """'AABB' -> strains [True, True] (each repeated); 'AAB' -> [True, False]; 'ABC' -> three
    strains played once. Letters must not come back after another letter (ABA)."""
    text = (form or "").strip().upper()
    if not text or not text.isalpha() or len(text) > 16:
        raise ConfigError(f"--form {form!r} is invalid; expected letters such as AABB, AB, AAB "
                          "or AABBCC (a doubled letter is a repeated strain)")
    strains: list[bool] = []
    seen: set[str] = set()
    index = 0
    while index < len(text):
        letter = text[index]
        if letter in seen:
            raise ConfigError(f"--form {form!r}: strain {letter} comes back after another one; "
                              "only repeats of a strain right after itself are written (AABB, "
                              "AAB, ABB)")
        seen.add(letter)
        count = 1
        while index + count < len(text) and text[index + count] == letter:
            count += 1
        if count > 2:
            raise ConfigError(f"--form {form!r}: a strain is played at most twice in a row")
        strains.append(count == 2)
        index += count
    return strains


class FormConstraint:
    """Allowed next tokens and metrical positions for rows of `codecs.FormCodec` tokens."""

    num_ids = NUM_IDS  # metrical ids the generator embeds (`core.generator.Generator.position`)

    def __init__(self, codec: Any, bars: int | None = None, form: str | None = None,
                 min_bars: int = 8, max_bars: int = 64, phrase: int = 4,
                 limit: int | None = None, strain: int | None = None,
                 short_bars: bool = True, cadence: tuple[int, ...] | None = None) -> None:
        self.codec = codec
        c = codec
        self.vocab = c.vocab_size
        self.strains: list[bool] | None = None
        self.strain_bars = 0
        if form is not None:
            self.strains = parse_form(form)
            played = sum(2 if r else 1 for r in self.strains)
            if bars is not None:
                if bars % played:
                    raise ConfigError(f"--bars {bars} does not split into the {played} strains "
                                      f"played in form {form} (a multiple of {played})")
                self.strain_bars = bars // played
            else:
                self.strain_bars = 8
                bars = 8 * played
        self.strain = strain if form is None and bars is None else None
        if self.strain is not None:
            if not 1 <= self.strain <= 64:
                raise ConfigError(f"strain = {strain} is invalid; expected 1..64 bars")
            self.strain_bars = self.strain
        self.short_bars = short_bars
        self.cadence = np.array(sorted(cadence), dtype=np.int64) if cadence else None
        if bars is not None and not 1 <= bars <= 512:
            raise ConfigError(f"--bars {bars} is invalid; expected 1..512")
        self.bars = bars
        self.min_bars = min_bars if bars is None else bars
        self.max_bars = max(max_bars, self.min_bars) if bars is None else bars
        self.phrase = phrase
        self.limit = limit  # tokens a row may have (None: no limit): tunes close before it
        v = self.vocab
        self.step_cols = np.zeros(v, dtype=bool)
        self.step_cols[[c.REST, c.HOLD]] = True
        self.step_cols[c.FIRST_ONSET : c.FIRST_START] = True
        self.start_cols = np.zeros(v, dtype=bool)
        self.start_cols[c.FIRST_START : c.START_OTHER] = True
        self.bar_len = np.full(v, 16, dtype=np.int64)
        for index, (num, den) in enumerate(c.METERS):
            self.bar_len[c.FIRST_START + index] = round(num * 4 * c.per_quarter / den)
        self.is_line = np.zeros(v, dtype=bool)
        self.is_line[list(c.BAR_LINES)] = True
        self.is_step = self.step_cols.copy()

    # ----- state ----------------------------------------------------------------------------
    def start(self, num: int) -> dict[str, np.ndarray]:
        zeros = np.zeros(num, dtype=np.int64)
        false = np.zeros(num, dtype=bool)
        return {"started": false.copy(), "ended": false.copy(), "L": zeros + 16,
                "pos": zeros.copy(), "seen": zeros.copy(), "pickup": zeros.copy(),
                "last": zeros - 1, "pending": false.copy(), "in_first": false.copy(),
                "fb": zeros.copy(), "k": zeros.copy(), "played": zeros.copy(),
                "sec": zeros.copy(), "sk": zeros.copy(), "ks": zeros.copy(),
                "fs": zeros.copy(), "ps": zeros.copy(), "t": zeros.copy(),
                "second": false.copy(), "pc": zeros - 1,
                "hist": np.zeros((num, 12), dtype=np.int64)}

    @staticmethod
    def take(state: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
        return {k: v[index] for k, v in state.items()}

    def ids(self, s: dict[str, np.ndarray]) -> np.ndarray:
        """(num, 2) metrical ids of the next position: in the bar, and bar in the strain."""
        pos = np.where(s["started"] & ~s["ended"], np.minimum(s["pos"], POSITIONS - 2),
                       POSITIONS - 1)
        bar = np.where(s["seen"] > 0, POSITIONS + s["k"] % BAR_IDS, PICKUP_ID)
        bar = np.where(s["ended"], DONE_ID, bar)
        return np.stack([pos, bar], axis=1)

    @staticmethod
    def played_bars(s: dict[str, np.ndarray]) -> np.ndarray:
        """Bars as played so far, by duration (a pick-up and the short bar it completes make
        one bar), rounded to the nearest bar."""
        return np.floor((s["ps"] + s["ks"]) / s["L"] + 0.5).astype(np.int64)

    def advance(self, s: dict[str, np.ndarray], tokens: np.ndarray) -> None:
        """Move every row past its token (in place)."""
        c = self.codec
        tok = np.asarray(tokens, dtype=np.int64)
        s["t"] += 1
        starting = self.start_cols[tok] & ~s["started"]
        s["L"] = np.where(starting, self.bar_len[tok], s["L"])
        s["started"] |= starting | (tok == c.START_OTHER)
        stepping = self.is_step[tok] & s["started"] & ~s["ended"]
        s["pos"] += stepping
        onset = stepping & (tok >= c.FIRST_ONSET) & (tok < c.FIRST_START)
        s["pc"] = np.where(onset, (tok - c.FIRST_ONSET + 9) % 12, s["pc"])  # token 4 is A0
        sounding = (onset | (stepping & (tok == c.HOLD))) & (s["pc"] >= 0)
        s["hist"][np.flatnonzero(sounding), s["pc"][sounding]] += 1
        s["ks"] += stepping
        s["fs"] += stepping & s["in_first"]
        line = self.is_line[tok] & ~s["ended"]
        opening = line & (tok == c.REP_START) & (s["seen"] == 0) & (s["pos"] == 0)
        closing = line & ~opening
        counted = closing & ((s["seen"] > 0) | (s["pos"] >= s["L"]))
        pickup_end = closing & (s["seen"] == 0) & (s["pos"] < s["L"])
        s["pickup"] = np.where(pickup_end, s["pos"], s["pickup"])
        s["ps"] += np.where(pickup_end, s["ks"], 0)  # a repeat to the start leaves it out
        s["ks"] = np.where(pickup_end, 0, s["ks"])
        s["seen"] += line
        s["k"] += counted
        s["sk"] += counted
        s["fb"] += counted & s["in_first"]
        s["pos"] = np.where(line, 0, s["pos"])
        rep_start = closing & (tok == c.REP_START)
        s["played"] += np.where(rep_start, s["k"], 0)
        s["k"] = np.where(rep_start, 0, s["k"])
        s["ps"] += np.where(rep_start, s["ks"], 0)
        s["ks"] = np.where(rep_start, 0, s["ks"])
        rep_end = closing & ((tok == c.REP_END) | (tok == c.REP_BOTH))
        s["played"] += np.where(rep_end, 2 * s["k"] - s["fb"], 0)
        s["ps"] += np.where(rep_end, 2 * s["ks"] - s["fs"], 0)
        s["ks"] = np.where(rep_end, 0, s["ks"])
        s["fs"] = np.where(rep_end, 0, s["fs"])
        s["pending"] = np.where(rep_end, s["in_first"], s["pending"])
        s["in_first"] &= ~rep_end
        s["fb"] = np.where(rep_end, 0, s["fb"])
        s["k"] = np.where(rep_end, 0, s["k"])
        if self.strain_bars:
            done = closing & (s["sk"] >= self.strain_bars)
            s["sec"] += done
            s["sk"] = np.where(done, 0, s["sk"])
            # a first ending closed: the second ending is the strain's last bar again
            s["sk"] = np.where(rep_end & s["pending"], self.strain_bars - 1, s["sk"])
        s["second"] &= ~line
        s["second"] |= tok == c.ENDING_2
        first = tok == c.ENDING_1
        s["in_first"] |= first
        s["fb"] = np.where(first, 0, s["fb"])
        s["fs"] = np.where(first, 0, s["fs"])
        s["pending"] &= tok != c.ENDING_2
        s["ended"] |= tok == c.END
        s["last"] = tok

    def track(self, tokens: np.ndarray) -> np.ndarray:
        """Metrical ids (B, T, 2) for teacher forcing: entry t is `ids` after tokens[:, :t]."""
        tokens = np.asarray(tokens, dtype=np.int64)
        batch, length = tokens.shape
        out = np.empty((batch, length, 2), dtype=np.int64)
        s = self.start(batch)
        for t in range(length):
            out[:, t] = self.ids(s)
            self.advance(s, tokens[:, t])
        return out

    def allowed_path(self, tokens: np.ndarray) -> np.ndarray:
        """(B, T, V) bool: what `allowed` said before each token of `tokens` (B, T)."""
        tokens = np.asarray(tokens, dtype=np.int64)
        batch, length = tokens.shape
        out = np.empty((batch, length, self.vocab), dtype=bool)
        s = self.start(batch)
        for t in range(length):
            out[:, t] = self.allowed(s)
            out[np.arange(batch), t, tokens[:, t]] = True  # a token from outside the rules
            self.advance(s, tokens[:, t])
        return out

    @staticmethod
    def tonic(hist: np.ndarray) -> np.ndarray:
        """The tonic pitch class (num,) of the key whose profile best matches each row's
        pitch-class durations (num, 12)."""
        centred = hist - hist.mean(axis=1, keepdims=True)
        return np.asarray((centred @ _KEYS.T).argmax(axis=1) % 12)

    # ----- masks ----------------------------------------------------------------------------
    def allowed(self, s: dict[str, np.ndarray]) -> np.ndarray:
        """(num, V) bool: the tokens each row may take next."""
        c = self.codec
        num = len(s["pos"])
        out = np.zeros((num, self.vocab), dtype=bool)
        started, ended, pos, length = s["started"], s["ended"], s["pos"], s["L"]
        seen, k, fb, played, in_first = s["seen"], s["k"], s["fb"], s["played"], s["in_first"]
        pending = s["pending"] & ~ended
        live = started & ~ended & ~pending
        last = s["last"]
        after_line = self.is_line[np.maximum(last, 0)] & (last >= 0)
        cap = self.bars if self.bars is not None else self.max_bars
        # bars once the bar in progress is closed, and the played total of each closing kind
        kk = k + ((seen > 0) | (pos >= length))
        fbb = fb + in_first
        p2 = played + 2 * kk - fbb  # after a repeat end now
        full = pos >= length
        # a bar line: a full bar, or the end of a pick-up of at most half a bar
        regular = live & (pos > 0) & (full | ((seen == 0) & (2 * pos <= length)))
        short = live & (pos > 0) & (seen > 0) & (s["pickup"] > 0) & (pos == length - s["pickup"])
        if not self.short_bars:
            short[:] = False
        opening = live & (seen == 0) & (pos == 0) & ~after_line
        out[:, c.FIRST_START : c.START_OTHER] = ~started[:, None]
        out[:, self.step_cols] = (live & ~full)[:, None]
        ok_bar = regular & (np.where(in_first, played + 2 * kk - fbb + 2, played + kk + 1)
                            <= cap)
        ok_part = (regular | short) & ~in_first & (played + kk <= cap)
        ok_start = (regular & ~in_first & (played + kk + 1 <= cap)) | opening
        ok_end = (regular | short) & (kk >= 1) & (np.where(in_first, p2 + 1, p2) <= cap)
        ok_both = (regular | short) & (kk >= 1) & ~in_first & (p2 + 1 <= cap)
        ok_first = (live & after_line & (pos == 0) & (k >= 1) & ~in_first & (last != c.REP_START)
                    & (last != c.REP_BOTH) & (last != c.REP_END) & (played + 2 * k + 2 <= cap))
        ok_bar &= ~(in_first & (fbb >= 2))
        if self.strain is not None:  # form marks at strain boundaries only, one at each
            boundary = (s["sk"] + ((seen > 0) | (pos >= length))) >= self.strain
            ok_bar &= ~boundary
            ok_part &= boundary
            ok_end &= boundary
            ok_both &= boundary
            ok_start &= boundary | opening | ((seen == 0) & regular & (pos < length))
            # first and second endings: the strain's last bar, a repeat, the other last bar
            ok_first &= (s["sk"] == self.strain - 1) & (last == c.BAR)
            ok_end &= ~s["second"]
            ok_both &= ~s["second"]
        if self.strains is not None:
            ok_first[:] = False
            sec = np.minimum(s["sec"], len(self.strains) - 1)
            skk = s["sk"] + ((seen > 0) | (pos >= length))
            closing = skk >= self.strain_bars
            repeated = np.array(self.strains)[sec]
            nxt = np.array([*self.strains[1:], False])[sec]
            last_strain = s["sec"] >= len(self.strains) - 1
            ok_bar = regular & ~closing
            ok_start = (regular & ~closing & (seen == 0) & (pos < length) & repeated
                        & (s["sec"] == 0)) | (opening & np.array(self.strains[0]))
            ok_start |= regular & closing & ~repeated & nxt & ~last_strain
            ok_both = (regular | short) & closing & repeated & nxt & ~last_strain
            ok_end = (regular | short) & closing & repeated & (~nxt | last_strain)
            ok_part = (regular | short) & closing & ~repeated & (~nxt | last_strain)
        near = np.zeros(num, dtype=bool)
        if self.limit is not None and self.bars is None and self.strains is None:
            # close the tune while the tokens left still allow it
            near = s["t"] + 2 * length + 8 > self.limit
            ok_bar &= ~near
            ok_start &= ~near
            ok_both &= ~near
            ok_end &= ~near | ~in_first | (s["t"] + length + 6 <= self.limit)
            ok_part |= near & regular & ~in_first
        if self.cadence is not None:
            # the second half of the tune's last bar ends on the tonic of the key the tune so
            # far is in (Krumhansl-Schmuckler profiles, as `keys.estimate_key`)
            last_bar = live & (seen > 0) & ~in_first & ((played + kk >= cap) | (p2 >= cap)) \
                & ~full \
                & (2 * pos >= length)
            rows = np.flatnonzero(last_bar)
            if len(rows):
                tonic = self.tonic(s["hist"][rows])
                pcs = (np.arange(self.vocab) - c.FIRST_ONSET + 9) % 12
                onsets = np.zeros(self.vocab, dtype=bool)
                onsets[c.FIRST_ONSET : c.FIRST_START] = True
                keep = ~onsets[None, :] | (pcs[None, :] == tonic[:, None])
                on_tonic = s["pc"][rows] == tonic
                keep[:, [c.HOLD, c.REST]] = on_tonic[:, None]
                out[rows] &= keep
        out[:, c.BAR] = ok_bar
        out[:, c.PART] = ok_part
        out[:, c.REP_START] = ok_start
        out[:, c.REP_END] = ok_end
        out[:, c.REP_BOTH] = ok_both
        out[:, c.ENDING_1] = ok_first
        out[:, c.ENDING_2] = pending
        total = played + k
        final = (live & after_line & (pos == 0) & ~in_first
                 & ((last == c.PART) | (last == c.REP_END)))
        if self.strains is not None:
            may_end = final & (s["sec"] >= len(self.strains))
        elif self.bars is not None:
            may_end = final & (total == self.bars)
        elif self.strain is not None:
            may_end = final & (total % self.strain == 0) & (total >= max(self.min_bars,
                                                                        2 * self.strain))
            may_end |= final & (total >= cap)
        else:
            heard = self.played_bars(s)
            may_end = final & (((heard >= self.min_bars) & (heard % self.phrase == 0))
                               | (total >= cap))
        may_end |= final & near & (self.strains is None) & (self.bars is None)
        if self.cadence is not None and self.bars is None and self.strains is None:
            # the tune ends on its tonic (tunes are in C major / A minor), or at the cap
            may_end &= (s["pc"] == self.tonic(s["hist"])) | (total >= cap) | near
        must_end = may_end & ((total >= cap) | (self.bars is not None) | near)
        out[must_end] = False
        out[:, c.END] = may_end | ended
        out[ended] = False
        out[ended, c.END] = True
        stuck = ~out.any(axis=1)
        out[stuck, c.END] = True  # never happens in a well-formed prefix; a safe way out
        return out
