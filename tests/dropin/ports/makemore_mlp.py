"""A character-level MLP language model (makemore part 2, Bengio et al. 2003).

A port of Andrej Karpathy's "Building makemore Part 2: MLP" notebook
(karpathy/nn-zero-to-hero, makemore_part2_mlp.ipynb): a 3-character context, an embedding
table C indexed as C[X], a tanh hidden layer, F.cross_entropy, minibatches drawn with
torch.randint from a seeded torch.Generator, `p.grad = None` and `p.data += -lr * p.grad`,
the dev loss, and sampling with torch.multinomial. Changes beside the imports: fewer
steps, and the words: made-up names from a seeded syllable generator (nothing is
downloaded) instead of names.txt.
"""

import random

import numpy as np
import torch
import torch.nn.functional as F

block_size = 3  # context length: how many characters do we take to predict the next one?


def make_words(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    onsets = ["b", "d", "j", "k", "l", "m", "n", "r", "s", "t", "v", "z", "ch", "sh", "br"]
    vowels = ["a", "e", "i", "o", "u", "ia", "ay", "ee"]
    endings = ["", "", "n", "h", "l", "s", "lyn", "ette", "ie"]
    words = []
    for _ in range(n):
        syllables = rng.integers(1, 4)
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables))
        words.append(word + rng.choice(endings))
    return words


words = make_words()
chars = sorted(list(set("".join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
vocab_size = len(itos)


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]  # crop and append
    X = torch.tensor(X)
    Y = torch.tensor(Y)
    return X, Y


random.seed(42)
random.shuffle(words)
n1 = int(0.8 * len(words))
n2 = int(0.9 * len(words))
Xtr, Ytr = build_dataset(words[:n1])
Xdev, Ydev = build_dataset(words[n1:n2])
Xte, Yte = build_dataset(words[n2:])


def init_parameters():
    g = torch.Generator().manual_seed(2147483647)  # for reproducibility
    C = torch.randn((vocab_size, 10), generator=g)
    W1 = torch.randn((30, 200), generator=g) * 0.2
    b1 = torch.randn(200, generator=g) * 0.01
    W2 = torch.randn((200, vocab_size), generator=g) * 0.01
    b2 = torch.randn(vocab_size, generator=g) * 0
    parameters = [C, W1, b1, W2, b2]
    print(sum(p.nelement() for p in parameters))  # number of parameters in total
    for p in parameters:
        p.requires_grad = True
    return parameters


def train(parameters, steps=3000):
    C, W1, b1, W2, b2 = parameters
    g = torch.Generator().manual_seed(2147483647 + 1)
    lossi = []
    for i in range(steps):
        # minibatch construct
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        # forward pass
        emb = C[Xtr[ix]]  # (32, 3, 10)
        h = torch.tanh(emb.view(-1, 30) @ W1 + b1)  # (32, 200)
        logits = h @ W2 + b2  # (32, vocab_size)
        loss = F.cross_entropy(logits, Ytr[ix])
        # backward pass
        for p in parameters:
            p.grad = None
        loss.backward()
        # update
        lr = 0.1 if i < 2000 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        lossi.append(loss.log10().item())
    return lossi


@torch.no_grad()  # this decorator disables gradient tracking
def split_loss(parameters, X, Y):
    C, W1, b1, W2, b2 = parameters
    emb = C[X]  # (N, block_size, n_embd)
    h = torch.tanh(emb.view(-1, 30) @ W1 + b1)  # (N, n_hidden)
    logits = h @ W2 + b2  # (N, vocab_size)
    return F.cross_entropy(logits, Y).item()


def sample(parameters, n=10):
    C, W1, b1, W2, b2 = parameters
    g = torch.Generator().manual_seed(2147483647 + 10)
    names = []
    for _ in range(n):
        out = []
        context = [0] * block_size  # initialize with all ...
        while True:
            emb = C[torch.tensor([context])]  # (1, block_size, d)
            h = torch.tanh(emb.view(1, -1) @ W1 + b1)
            logits = h @ W2 + b2
            probs = F.softmax(logits, dim=1)
            ix = torch.multinomial(probs, num_samples=1, generator=g).item()
            context = context[1:] + [ix]
            out.append(ix)
            if ix == 0:
                break
        names.append("".join(itos[i] for i in out))
    print("\n".join(names))
    return names


def main():
    parameters = init_parameters()
    lossi = train(parameters)
    dev = split_loss(parameters, Xdev, Ydev)
    print("train", split_loss(parameters, Xtr, Ytr), "dev", dev)
    return {"train": lossi, "dev": dev, "samples": sample(parameters)}


if __name__ == "__main__":
    main()
