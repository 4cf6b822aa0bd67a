"""The claim register: the statements of the paper that jaxrnn's verdicts test.

Every verdict in a summary names its source. Either it tests a statement of
Panigrahi & Goyal (NeurIPS 2021), and then it carries one of the ``Claim``
entries below, quoted from the main text with its location, together with a
``Regime``: the conditions the statement needs (``eps_x < 1/L``, widths,
lambda, eta, T, N) and whether the run met them; or it is a **jaxrnn
diagnostic**, a hypothesis of ours (a rate we derived, a threshold we chose,
a comparison the paper does not make), and carries no claim.

A paper claim tested outside its regime is reported as *not testable at these
sizes* (with the size at which it would be, where a measured slope gives one),
never as "does not hold" (``lab.report.Verdict.outcome``).

The main text states rates only up to ``poly(.)`` and ``Theta(.)`` with
unstated constants, and its appendix is not available; so a claim such as
"error <= poly(L, rho, 1/m, eps_x)" is tested through the trend it implies
(the error falls with m, grows at most polynomially in L), and the regime
records the conditions of the statement that a run can check.

Example::

  >>> from jaxrnn import lab
  >>> c = lab.claims.CLAIMS["thm4.5"]
  >>> c.location
  'Thm. 4.5'
  >>> v = lab.threshold_verdict("error small", 0.5, below=1.0, claim=c,
  ...                           regime=lab.Regime("eps_x < 1/L", False, "m ~ 8e3"))
  >>> v.outcome
  'not testable at these sizes'
"""

from __future__ import annotations

from typing import NamedTuple


class Claim(NamedTuple):
  """A statement of the paper: where it is (``location``, e.g. "Thm. 4.5")
  and its words (``quote``, from the main text; formulas in plain text)."""

  location: str
  quote: str

  def cite(self) -> str:
    """``location: “quote”`` as one table cell."""
    return f"{self.location}: “{self.quote}”"


class Regime(NamedTuple):
  """The conditions a claim's statement needs and whether the run met them.

  - ``conditions``: the conditions, as text (e.g. "eps_x < 1/L").
  - ``met``: True when the run satisfies them.
  - ``needed``: when not met, the size at which the claim would be testable
    (e.g. "m ≈ 8e3, extrapolated from the measured slope"), or why none can
    be given.
  """

  conditions: str
  met: bool
  needed: str = ""

  def fmt(self) -> str:
    if self.met:
      return f"{self.conditions}: met"
    return f"{self.conditions}: **not met**" + (f" (needs {self.needed})" if self.needed else "")


def _c(location: str, quote: str) -> Claim:
  return Claim(location, quote)


#: The register. Keys are short stable names; experiments refer to them.
CLAIMS: dict[str, Claim] = {
  # Sec. 4.1: the pseudo-network.
  "eq4": _c(
    "Sec. 4.1, Eq. (4)",
    "F^(L)(x; W', A') := Σ_i Back_{i→L} D^(i) (W' h^(i−1) + A' x^(i)) ≈ "
    "F_rnn^(L)(x; W + W', A + A') − F_rnn^(L)(x; W, A)",
  ),
  "sec4.1-close": _c(
    "Sec. 4.1",
    "the pseudo network is a good approximation of the RNN, provided the weights stay close "
    "to the initialization",
  ),
  "sec4.3-linear": _c(
    "Sec. 4.3",
    "within small radius of perturbation, overparameterized RNNs behave as a linear network "
    "and hence the training can be analyzed via convex optimization",
  ),
  # Sec. 4.2: existence of a good pseudo-network.
  "lemma4.2-back": _c(
    "Sec. 4.2, proof of Lemma 4.2",
    "The first L − 1 summands in the outer sum above nearly vanish due to small correlation "
    "between B and Back_{i→L} for i < L",
  ),
  "lemma4.1": _c(
    "Lemma 4.1",
    "there exists a H : R^2 → (−C_ε(ϕ, 1), C_ε(ϕ, 1)) ... |ϕ(w̄ᵀu) − E[H(wᵀw̄, b0) "
    "I(wᵀu + b0 ≥ 0)]| ≤ ε",
  ),
  "lemma4.2": _c(
    "Lemma 4.2",
    "there exist matrices W* and A* such that ... |F^(L)(x; W*, A*) − ϕ(⟨w̄, [h^(L−1), "
    "x^(L)_{:d−1}]⟩)| ≤ ε, provided m = poly(1/ε, L, C_ε(ϕ, O(1)))",
  ),
  "lemma4.2-a": _c(
    "Sec. 4.2, proof of Lemma 4.2",
    "a*_r := (1/m) b_r H(√(m/2)⟨[w_r, a_{r,:d−1}], w̄⟩, √(m/2) a_{r,d}) e_d",
  ),
  "thm4.3": _c(
    "Thm. 4.3",
    "|F^(L)(x; W*, A*) − Φ*(⟨w†, [x̄^(2), …]⟩)| ≤ ε + 1/poly(ρ), provided "
    "m ≥ poly(ρ, L, ε^−1, C_ε(Φ, O(ε_x^−1))) and ε_x ≤ 1/poly(ρ)",
  ),
  "rerand": _c(
    "Sec. 4.2, Re-randomization",
    "we will re-randomize the rows of the matrix [W, A]_r, show that the matrices W̄^[L], "
    "{Back_{i→L}} and {h^(i)} don't change a lot",
  ),
  # Sec. 4.4: inversion.
  "lemma4.4": _c(
    "Lemma 4.4, Eq. (8)",
    "|vᵀx − pᵀσ(Tx)| ≤ ‖v‖·‖x‖/√m, with p = 2Tv, where T ∈ R^{m×d} is a matrix with "
    "elements i.i.d. sampled from N(0, 1)",
  ),
  "lemma4.4-rate": _c(
    "Sec. 4.4, before Lemma 4.4",
    "any linear function can be represented by a one-hidden layer FFN with activation function "
    "ReLU, with a small approximation error of the order 1/√m",
  ),
  "thm4.5": _c(
    "Thm. 4.5",
    "for any ε_x < 1/L and any given normalized sequence ... ‖[x^(1), …, x^(L)] − "
    "W̄^[L]ᵀ h^(L)‖_∞ ≤ poly(L, ρ, m^−1, ε_x)",
  ),
  "sec4.4-naive": _c(
    "Sec. 4.4",
    "A naive application will result in defining W̄^[ℓ] inductively as 2[W W̄^[ℓ−1], A]_r ... "
    "This will lead to the approximation error exploding exponentially with L",
  ),
  "fig4": _c(
    "Sec. 4.4 (Fig. 4)",
    "the error involved in inversion decreases with the number of neurons and increases with "
    "the length of the sequence",
  ),
  # Sec. 3: normalization and the main theorem.
  "def3.1-normalization": _c(
    "Sec. 3, after Def. 3.1",
    "Our method can be applied without normalization too, but in that case our error bound has "
    "exponential dependence on the length of the input sequence",
  ),
  "thm3.1": _c(
    "Thm. 3.1",
    "with λ := ε/(10Lρ), m ≥ poly(C, p, L, d_out, ε^−1), N ≥ poly(C, p, L, d_out, ε^−1), "
    "η := Θ(1/(ερ²m)) and T := Θ(p²C²poly(ρ)ε^−2) ... SGD satisfies E_sgd[(1/T) Σ_t "
    "E_D Obj(x̄, y*; W_t, A_t)] ≤ OPT + ε + 1/poly(ρ)",
  ),
  "thm3.1-poly": _c(
    "Sec. 3.4, after Thm. 3.1",
    "The required number of neurons and the number of training samples have polynomial "
    "dependence on the function complexity of the concept class, the length of the input "
    "sequence, the output dimension, and the additional prediction error ϵ",
  ),
  "sec4.3-descent": _c("Sec. 4.3", "Lemma D.3 shows that the training loss decreases with time"),
  # Sec. 5: formal languages.
  "sec5-dl1": _c(
    "Sec. 5",
    "the language D_L1 can be recognized with a one-layer FFN with one neuron and quadratic "
    "activation ... our concept class can represent language D_L1 with low complexity",
  ),
  "sec5-thmH1": _c(
    "Sec. 5", "D_L1 is not representable in the concept class of [37] (see Theorem H.1)"
  ),
  "sec5-patterns": _c(
    "Sec. 5",
    "our concept class can efficiently represent pattern matching problems, where strings "
    "belong to a language only if they contain given strings as substrings",
  ),
  "sec5-parity": _c(
    "Sec. 5",
    "We can show in sec. H that PARITY is easily expressible by our concept class with small "
    "complexity",
  ),
  "sec5-regular": _c(
    "Sec. 5",
    "the complexity of the concept class may depend super-polynomially on the length of the "
    "input sequence, depending on the regular language",
  ),
  "sec5-learn": _c(
    "Sec. 5", "RNNs perform well on regular language recognition task in our experiments"
  ),
}


def claim(key: str) -> Claim:
  """The register's entry ``key``; a clear error names the known keys."""
  try:
    return CLAIMS[key]
  except KeyError:
    raise KeyError(f"unknown claim {key!r}; known: {', '.join(sorted(CLAIMS))}") from None
