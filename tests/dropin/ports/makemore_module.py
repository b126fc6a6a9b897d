"""makemore's MLP as an nn.Module, trained with AdamW, evaluated and sampled.

A port of Andrej Karpathy's makemore.py (karpathy/makemore): CharDataset (words to
index tensors, targets masked with -1), the MLP model (nn.Embedding with an extra <BLANK>
token, torch.roll over the context, torch.cat, an nn.Sequential head, F.cross_entropy with
ignore_index=-1), AdamW(betas=(0.9, 0.99), weight_decay=0.01), model.zero_grad(set_to_none=
True), evaluate() under torch.inference_mode(), and generate() with torch.multinomial.
Changes beside the imports: made-up names from a seeded syllable generator instead of
names.txt, a small batching function instead of DataLoader, and fewer steps.
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F


@dataclass
class ModelConfig:
    block_size: int = None  # length of the input sequences of integers
    vocab_size: int = None  # the input integers are in range [0 .. vocab_size -1]
    n_embd: int = 16
    n_embd2: int = 64


class MLP(nn.Module):
    """takes the previous block_size tokens, encodes them with a lookup table,
    concatenates the vectors and predicts the next token with an MLP.

    Reference:
    Bengio et al. 2003 https://www.jmlr.org/papers/volume3/bengio03a/bengio03a.pdf
    """

    def __init__(self, config):
        super().__init__()
        self.block_size = config.block_size
        self.vocab_size = config.vocab_size
        # token embeddings table, +1 for a special <BLANK> token
        self.wte = nn.Embedding(config.vocab_size + 1, config.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(self.block_size * config.n_embd, config.n_embd2),
            nn.Tanh(),
            nn.Linear(config.n_embd2, self.vocab_size)
        )

    def get_block_size(self):
        return self.block_size

    def forward(self, idx, targets=None):
        # gather the word embeddings of the previous 3 words
        embs = []
        for k in range(self.block_size):  # noqa: B007 (makemore's spelling)
            tok_emb = self.wte(idx)  # token embeddings of shape (b, t, n_embd)
            idx = torch.roll(idx, 1, 1)
            idx[:, 0] = self.vocab_size  # special <BLANK> token
            embs.append(tok_emb)
        # concat all of the embeddings together and pass through an MLP
        x = torch.cat(embs, -1)  # (b, t, n_embd * block_size)
        logits = self.mlp(x)
        # if we are given some desired targets also calculate the loss
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                   ignore_index=-1)
        return logits, loss


@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, do_sample=False, top_k=None):
    """Take a conditioning sequence of indices idx (LongTensor of shape (b,t)) and complete
    the sequence max_new_tokens times, feeding the predictions back into the model each time."""
    block_size = model.get_block_size()
    for _ in range(max_new_tokens):
        # if the sequence context is growing too long we must crop it at block_size
        idx_cond = idx if idx.size(1) <= block_size else idx[:, -block_size:]
        # forward the model to get the logits for the index in the sequence
        logits, _ = model(idx_cond)
        # pluck the logits at the final step and scale by desired temperature
        logits = logits[:, -1, :] / temperature
        # optionally crop the logits to only the top k options
        if top_k is not None:
            v, _ = torch.topk(logits, top_k)
            logits[logits < v[:, [-1]]] = -float("Inf")
        # apply softmax to convert logits to (normalized) probabilities
        probs = F.softmax(logits, dim=-1)
        # either sample from the distribution or take the most likely element
        if do_sample:
            idx_next = torch.multinomial(probs, num_samples=1)
        else:
            _, idx_next = torch.topk(probs, k=1, dim=-1)
        # append sampled index to the running sequence and continue
        idx = torch.cat((idx, idx_next), dim=1)
    return idx


class CharDataset:
    def __init__(self, words, chars, max_word_length):
        self.words = words
        self.chars = chars
        self.max_word_length = max_word_length
        self.stoi = {ch: i + 1 for i, ch in enumerate(chars)}
        self.itos = {i: s for s, i in self.stoi.items()}  # inverse mapping

    def __len__(self):
        return len(self.words)

    def get_vocab_size(self):
        return len(self.chars) + 1  # all the possible characters and special 0 token

    def get_output_length(self):
        return self.max_word_length + 1  # <START> token followed by words

    def encode(self, word):
        ix = torch.tensor([self.stoi[w] for w in word], dtype=torch.long)
        return ix

    def decode(self, ix):
        word = "".join(self.itos[i] for i in ix)
        return word

    def __getitem__(self, idx):
        word = self.words[idx]
        ix = self.encode(word)
        x = torch.zeros(self.max_word_length + 1, dtype=torch.long)
        y = torch.zeros(self.max_word_length + 1, dtype=torch.long)
        x[1:1 + len(ix)] = ix
        y[:len(ix)] = ix
        y[len(ix) + 1:] = -1  # index -1 will mask the loss at the inactive locations
        return x, y


def make_words(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    onsets = ["b", "d", "j", "k", "l", "m", "n", "r", "s", "t", "v", "z", "ch", "sh", "br"]
    vowels = ["a", "e", "i", "o", "u", "ia", "ay", "ee"]
    endings = ["", "", "n", "h", "l", "s", "lyn", "ette", "ie"]
    return ["".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.integers(1, 4)))
            + rng.choice(endings) for _ in range(n)]


def create_datasets():
    words = make_words()
    chars = sorted(list(set("".join(words))))  # all the possible characters
    max_word_length = max(len(w) for w in words)
    test_set_size = min(100, int(len(words) * 0.1))
    rp = np.random.default_rng(1).permutation(len(words)).tolist()
    train_words = [words[i] for i in rp[:-test_set_size]]
    test_words = [words[i] for i in rp[-test_set_size:]]
    train_dataset = CharDataset(train_words, chars, max_word_length)
    test_dataset = CharDataset(test_words, chars, max_word_length)
    return train_dataset, test_dataset


def batch(dataset, indices):
    xs, ys = zip(*(dataset[int(i)] for i in indices))
    return torch.stack(xs), torch.stack(ys)


@torch.inference_mode()
def evaluate(model, dataset, batch_size=50, max_batches=None):
    model.eval()
    losses = []
    for i, start in enumerate(range(0, len(dataset), batch_size)):
        X, Y = batch(dataset, range(start, min(start + batch_size, len(dataset))))
        logits, loss = model(X, Y)
        losses.append(loss.item())
        if max_batches is not None and i >= max_batches:
            break
    mean_loss = torch.tensor(losses).mean().item()
    model.train()  # reset model back to training mode
    return mean_loss


def train(model, train_dataset, steps=300, batch_size=32, seed=0):
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.01,
                                  betas=(0.9, 0.99), eps=1e-8)
    rng = np.random.default_rng(seed)
    losses = []
    for step in range(steps):
        X, Y = batch(train_dataset, rng.integers(0, len(train_dataset), batch_size))
        logits, loss = model(X, Y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % 100 == 0:
            print(f"step {step} | loss {loss.item():.4f}")
    return losses


def main():
    torch.manual_seed(3407)
    train_dataset, test_dataset = create_datasets()
    config = ModelConfig(vocab_size=train_dataset.get_vocab_size(),
                         block_size=train_dataset.get_output_length())
    model = MLP(config)
    print(f"model #params: {sum(p.numel() for p in model.parameters())}")
    losses = train(model, train_dataset)
    test_loss = evaluate(model, test_dataset)
    X_init = torch.zeros(5, 1, dtype=torch.long)
    X_samp = generate(model, X_init, train_dataset.get_output_length() - 1, do_sample=True)
    samples = []
    for i in range(X_samp.size(0)):
        row = X_samp[i, 1:].tolist()  # drop the <START> token
        crop_index = row.index(0) if 0 in row else len(row)
        samples.append(train_dataset.decode(row[:crop_index]))
    print("\n".join(samples))
    return {"train": losses, "test": test_loss, "samples": samples}


if __name__ == "__main__":
    main()
