"""A deterministic mixed-text corpus for the tokenizer benchmark and parity tests (no downloads).

mixed_corpus(n_bytes, seed) returns documents (one string each, 200 bytes to 4 KB) until
their UTF-8 size reaches n_bytes: English-like prose (about 60 %), source code (15 %),
numbers and dates, markup, chat-formatted text with special-token strings, and prose in
other scripts (Cyrillic, Greek, Arabic, Devanagari, CJK, Hangul) with emoji. The text comes
from a 64-bit LCG over fixed word lists, so every run and every language gets the same bytes.
"""

_EN = ("the of and to in is that it for was on are as with his they at be this from have or by one had not "
       "but what all were when we there can an your which their said if do will each about how up out them "
       "then she many some so these would other into has more her two like him see time could no make than "
       "first been its who now people my made over did down only way find use may water long little very "
       "after words called just where most know get through back much before go good new write our used me "
       "man too any day same right look think also around another came come work three word must because "
       "does part even place well such here take why things help put years different away again off went "
       "tokenizer model training gradient optimizer learning batch sequence attention transformer vocabulary "
       "reinforcement preference reward policy rollout evaluation benchmark throughput latency").split()
_CAPS = ["The", "A", "In", "It", "We", "They", "This", "However,", "Meanwhile,", "Yesterday", "Dr.", "Mr.", "OpenAI",
         "Hugging", "Face", "PyTorch", "LibTorch", "GPU", "CPU", "I", "You", "Don't", "It's", "We'll", "They've"]
_PUNCT = [".", ".", ".", ",", ",", ";", ":", "!", "?", " —", "...", "'s", "'re", "'d"]
_CODE = [
    "def {w}(x, y=None):\n    if y is None:\n        return x * {n}\n    return x + y  # {w}\n",
    "for (int i = 0; i < {n}; ++i) {{\n\t{w}[i] += {w}_prev[i] * 0.5f;\n}}\n",
    "const {w} = async (req, res) => {{ res.json({{ ok: true, n: {n} }}); }};\n",
    "SELECT {w}, COUNT(*) FROM events WHERE id > {n} GROUP BY {w} ORDER BY 2 DESC;\n",
    "<div class=\"{w}\"><a href=\"https://example.org/{w}?id={n}&amp;x=1\">{w}</a></div>\n",
    "    self.{w} = nn.Linear({n}, {n})\n    self.{w}_norm = RMSNorm({n}, eps=1e-6)\n",
]
_INTL = [
    "Привет, как дела? Всё хорошо, спасибо. Сегодня мы обучаем модель на новых данных.",
    "Γειά σου Κόσμε. Η γλώσσα είναι όμορφη και πλούσια.",
    "مرحبا بالعالم، هذا نص تجريبي باللغة العربية.",
    "नमस्ते दुनिया, यह एक परीक्षण वाक्य है।",
    "東京は日本の首都です。今日は天気がとても良いです。",
    "我爱自然语言处理！今天天气很好，我们去公园散步吧。",
    "한국어 텍스트입니다. 오늘 날씨가 좋네요.",
    "Über Straße, café, naïve façade — déjà vu; İstanbul'da ılık bir gün.",
    "I ❤️ 🍕 and 👨‍👩‍👧‍👦 families 🏳️‍🌈 👍🏽 🚀✨",
]
_CHAT = ["<|im_start|>user\n{s}<|im_end|>\n<|im_start|>assistant\n{t}<|im_end|>\n",
         "<s>[INST] {s} [/INST] {t}</s>", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{s}<|eot_id|>"]


class _Lcg:
    def __init__(self, seed):
        self.s = (seed * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF

    def next(self, n):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return (self.s >> 33) % n

    def pick(self, xs):
        return xs[self.next(len(xs))]


def _sentence(r):
    words = [r.pick(_CAPS)] + [r.pick(_EN) for _ in range(4 + r.next(14))]
    if r.next(5) == 0:
        words.insert(1 + r.next(len(words) - 1), str(r.next(100000)))
    return " ".join(words) + r.pick(_PUNCT)


def _document(r):
    kind = r.next(20)
    parts = []
    target = 200 + r.next(3800)
    while sum(len(p) for p in parts) < target:
        if kind < 12:
            parts.append(" ".join(_sentence(r) for _ in range(1 + r.next(5))) + ("\n\n" if r.next(3) == 0 else " "))
        elif kind < 15:
            w = r.pick(_EN) + "_" + r.pick(_EN)
            parts.append(r.pick(_CODE).format(w=w, n=r.next(4096)))
        elif kind < 16:
            parts.append(f"{r.next(3000)}-{1 + r.next(12):02d}-{1 + r.next(28):02d} {r.next(10**6):,} "
                         f"{r.next(1000)}.{r.next(1000):03d} 0x{r.next(1 << 32):08X} {r.next(100)}% ")
        elif kind < 18:
            parts.append(r.pick(_CHAT).format(s=_sentence(r), t=_sentence(r) + " " + _sentence(r)))
        else:
            parts.append(r.pick(_INTL) + (" " if r.next(2) else "\n") + _sentence(r) + " ")
    return "".join(parts)


def mixed_corpus(n_bytes, seed=1):
    r = _Lcg(seed)
    docs, size = [], 0
    while size < n_bytes:
        d = _document(r)
        docs.append(d)
        size += len(d.encode("utf-8"))
    return docs


if __name__ == "__main__":
    import sys
    docs = mixed_corpus(int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 20)
    print(len(docs), sum(len(d.encode()) for d in docs))
    print(docs[0][:400])
