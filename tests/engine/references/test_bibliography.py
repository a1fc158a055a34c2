"""The free-text bibliography parser on real reference styles (strings from the unarXive sample)."""

from __future__ import annotations

import pytest

from engine.fulltext.bibliography import find_arxiv_id_strict, parse_bib_entry, parse_title

CASES = [
    # natbib plain / ACM: Authors. Title. Venue.
    (
        "Matteo Mio and Valeria Vignudelli. Monads and quantitative equational theories for nondeterminism and "
        "probability. In CONCUR, volume 171 of LIPIcs, pages 28:1–28:18. Schloss Dagstuhl, 2020.",
        "Monads and quantitative equational theories for nondeterminism and probability",
    ),
    # IEEE / APS quoted titles
    (
        "H.-D. Meyer and W. H. Miller, “A classical analog for electronic degrees of freedom in nonadiabatic collision "
        "processes,” J. Chem. Phys. 70, 3214–3223 (1979a).",
        "A classical analog for electronic degrees of freedom in nonadiabatic collision processes",
    ),
    (
        "J. Kim, S. Ahn, H. Lee, and J. Shin, “Self-Improved Retrosynthetic Planning,” in Proceedings of the 38th "
        "International Conference on Machine Learning, vol. 139. PMLR, 2021, pp. 5486–5495.",
        "Self-Improved Retrosynthetic Planning",
    ),
    # APS / JHEP without quotes
    (
        "S. Boixo, S. V. Isakov, V. N. Smelyanskiy, R. Babbush, N. Ding, Z. Jiang, M. J. Bremner, J. M. Martinis, and "
        "H. Neven, Characterizing quantum supremacy in near-term devices, Nature Physics 14, 595 (2018).",
        "Characterizing quantum supremacy in near-term devices",
    ),
    (
        "B. Cabouat and J. R. Gaunt, Combining single and double parton scatterings in a parton shower, JHEP 10 (2020) "
        "012 [2008.01442].",
        "Combining single and double parton scatterings in a parton shower",
    ),
    # Surname-first with an initial right before the title
    (
        "Hackl, K. Generalized standard media and variational principles in classical and finite strain "
        "elastoplasticity. J. Mech. Phys. Solids 45 (1997), 667–688.",
        "Generalized standard media and variational principles in classical and finite strain elastoplasticity",
    ),
    # AAAI / ACL: the year after the authors
    (
        "Williams, J.; Kleinegesse, S.; Comanescu, R.; and Radu, O. 2018. Recognizing emotions in video using multimodal "
        "DNN feature fusion. In Proceedings of Grand Challenge and Workshop on Human Multimodal Language, 11–19.",
        "Recognizing emotions in video using multimodal DNN feature fusion",
    ),
    (
        "Zadeh, A.; Liang, P. P.; Poria, S.; Vij, P.; Cambria, E.; and Morency, L.-P. 2018b. Multi-attention recurrent "
        "network for human communication comprehension. In Proceedings of the AAAI Conference.",
        "Multi-attention recurrent network for human communication comprehension",
    ),
    # Springer LNCS: a colon ends the author list
    (
        "Hinton, G., Vinyals, O., Dean, J.: Distilling the knowledge in a neural network. arXiv preprint "
        "arXiv:1503.02531 (2015)",
        "Distilling the knowledge in a neural network",
    ),
    # APA
    (
        "Ethier, S. N. and Lee, J. (2010). A Markovian slot machine and Parrondo's paradox. The Annals of Applied "
        "Probability, 20(3), 1098-1125.",
        "A Markovian slot machine and Parrondo's paradox",
    ),
    # Two-letter surnames end the list; a title with a colon keeps its prefix
    (
        "Haiyan Yin, Dingcheng Li, Xu Li, and Ping Li. Meta-cotgan: A meta cooperative training paradigm for improving "
        "adversarial text generation. In Proceedings of the AAAI Conference on Artificial Intelligence, 2020.",
        "Meta-cotgan: A meta cooperative training paradigm for improving adversarial text generation",
    ),
    # Initials inside a title do not end it; "Ph." is an initial
    (
        "Z. Zong and F. Hu. A new proof of central limit theorem for i.i.d. random variables. Abstr. Appl. Anal., 2013.",
        "A new proof of central limit theorem for i.i.d. random variables",
    ),
    (
        "Ph. Boucaud, F. De Soto, J. Rodríguez-Quintero, and S. Zafeiropoulos. Refining the detection of the zero "
        "crossing for the three-gluon vertex. Phys. Rev., D95(11):114503, 2017.",
        "Refining the detection of the zero crossing for the three-gluon vertex",
    ),
    # A journal name after the title, in period and in comma styles
    (
        "P. Auer, N. Cesa-Bianchi, and P. Fischer. (2002). Finite-time analysis of the multi-armed bandit problem, "
        "Machine Learning, 47, 235-256.",
        "Finite-time analysis of the multi-armed bandit problem",
    ),
    (
        "Yann Ollivier, A January 2005 invitation to random groups, Ensaios Matemáticos [Mathematical Surveys], "
        "vol. 10, Sociedade Brasileira de Matemática, Rio de Janeiro, 2005.",
        "A January 2005 invitation to random groups",
    ),
    (
        "G. 't Hooft and M. J. G. Veltman, Regularization and Renormalization of Gauge Fields, Nucl. Phys. B 44 "
        "(1972) 189.",
        "Regularization and Renormalization of Gauge Fields",
    ),
    (
        "Maria Schuld. Supervised quantum machine learning models are kernel methods, 2021.",
        "Supervised quantum machine learning models are kernel methods",
    ),
    # LaTeX \newblock rendered as "5em minus 0.4em"
    (
        "J.~Clark and D.~A. Holton, A first look at graph theory. 5em minus 0.4emWorld Scientific, 1991.",
        "A first look at graph theory",
    ),
]

NO_TITLE = [
    "Airapetian, V. S., Glocer, A., Khazanov, G. V., et al. 2017, , 836, L3, doi: 10.3847/2041-8213/836/1/L3",
    "Ravenhall D. G., Pethick C. J., Wilson J. R., 1983, Phys. Rev. Lett., 50, 2066",
    "J. P. Perdew, K. Burke, and M. Ernzerhof, Phys. Rev. Lett. 77, 3865 (1996).",
    "S. Chekanov et al. [ZEUS], Eur. Phys. J. C 60 (2009), 25-45 doi:10.1140/epjc/s10052-009-0881-x "
    "[arXiv:0807.1290 [hep-ex]].",
    "L. An, X. Cai, D. Pei, M. Huang, and N. Wang, Nanoscale Horizons 5, 1309 (2020).",
    "Habbal, S. R., Druckmüller, M., Morgan, H., et al. 2011, The Astrophysical Journal, 734, 120",
    "S. Acharya et al. (ALICE), JHEP 05, 061 (2022), arXiv:2107.11303 [nucl-ex] .",
    "G. Amati, J. R. Mannouch, J. E. Runeson, J. E. Lawrence, and J. O. Richardson, Unpublished.",
    "—. 2009b, , 507, 1425",
    # leftovers that once parsed as titles: lower-case initials, journal abbreviations, collaboration tags, URLs
    "E. F. Valeev, V. Coropceanu, D. A. d. S. Filho, S. Salman, and J.-L. Bredas, Journal of the American Chemical "
    "Society 128, 9882 (2006).",
    "Wang X., Li J., Fang J., Pais H., Providência C. m. c., 2022, Phys. Rev. D, 105, 063004",
    "R. Gillen, Phys. Status Solidi B 258, 2000614 (2021).",
    "M. Robotkova (STAR), SciPost Phys. Proc. 8, 071 (2022).",
    "A. M. Sirunyan et al. (CMS), JHEP 10, 161 (2018b), arXiv:1805.05145 [hep-ex] .",
    "Tychoniec, Ł., van Dishoeck, E. F., van't Hoff, M. L. R., et al. 2021, , 655, A65",
    "“http://www.openconfig.net.”",
    "C. von Planta, Ph. D. thesis, University of Basel, 2020.",
    "",
]


@pytest.mark.parametrize(("raw", "title"), CASES)
def test_titles_of_common_styles(raw: str, title: str) -> None:
    assert parse_title(raw) == title


@pytest.mark.parametrize("raw", NO_TITLE)
def test_entries_without_a_title_give_none_rather_than_a_guess(raw: str) -> None:
    assert parse_title(raw) is None


def test_arxiv_ids_are_strict() -> None:
    assert find_arxiv_id_strict("arXiv preprint arXiv:1810.04805v2, 2018") == "1810.04805"
    assert find_arxiv_id_strict("JHEP 09 (2019) 037 [1901.03685].") == "1901.03685"
    assert find_arxiv_id_strict("[arXiv:hep-ph/0511200 [hep-ph]]") == "hep-ph/0511200"
    assert find_arxiv_id_strict("Commun. Math. Phys. 198 (1998) 689 [hep-th/9802068]") == "hep-th/9802068"
    assert find_arxiv_id_strict("Phys. Rev. D 78 (2008), 1234.5678") is None  # no context, 4 digits: a number
    assert find_arxiv_id_strict("arXiv:1713.01234") is None  # month 13
    assert find_arxiv_id_strict("doi:10.1103/PhysRevD.78.114012") is None


def test_entry_fields() -> None:
    entry = parse_bib_entry(
        "b7",
        "M. Czakon, Comput. Phys. Commun. 175 (2006), 559-571 doi:10.1016/j.cpc.2006.07.002 "
        "[arXiv:hep-ph/0511200 [hep-ph]].",
    )
    assert entry.id == "b7" and entry.title is None
    assert entry.doi == "10.1016/j.cpc.2006.07.002" and entry.arxiv_id == "hep-ph/0511200" and entry.year == 2006
    arxiv_doi = parse_bib_entry("b8", "K. Baumgaertl and D. Grundler 10.48550/arxiv.2208.10923 (2022).")
    assert arxiv_doi.arxiv_id == "2208.10923"
