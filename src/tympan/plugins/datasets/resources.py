"""Where each corpus is published: the official archive URLs and their SHA-256 checksums.

Corpora behind a licence or a form (Common Voice, Fluent Speech Commands, SNIPS, IEMOCAP), generated ones
(LibriMix, WSJ0-mix) and those without a working official link (GTZAN) have none: they are placed under
``root`` by hand, in the layout their class documents.

Example:
    >>> LIBRISPEECH["dev-clean"][0].filename
    'dev-clean.tar.gz'
"""

from __future__ import annotations

from tympan.plugins.datasets.corpus import Resource, Resources

__all__ = [
    "CMU_ARCTIC",
    "LIBRILIGHT_LIMITED",
    "LIBRISPEECH",
    "LIBRITTS",
    "LIBRITTS_R",
    "LJSPEECH",
    "MUSDB18_HQ",
    "QUESST14",
    "SPEECH_COMMANDS",
    "TEDLIUM",
    "VCTK",
    "VOXCELEB1",
    "YESNO",
]

_OPENSLR = "https://www.openslr.org/resources"


def _openslr_subsets(number: int, digests: dict[str, str], md5: bool = False, separator: str = "-") -> Resources:
    """One ``<subset>.tar.gz`` of OpenSLR resource ``number`` per subset (its ``-`` written ``separator`` in the
    file name), with its SHA-256 (or, with ``md5``, the MD5 that is all some publishers give)."""
    return {
        subset: (
            Resource(
                f"{_OPENSLR}/{number}/{subset.replace('-', separator)}.tar.gz",
                sha256=None if md5 else digest,
                md5=digest if md5 else None,
            ),
        )
        for subset, digest in digests.items()
    }


LIBRISPEECH = _openslr_subsets(
    12,
    {
        "dev-clean": "76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3",
        "dev-other": "12661c48e8c3fe1de2c1caa4c3e135193bfb1811584f11f569dd12645aa84365",
        "test-clean": "39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23",
        "test-other": "d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29",
        "train-clean-100": "d4ddd1d5a6ab303066f14971d768ee43278a5f2a0aa43dc716b0e64ecbbbf6e2",
        "train-clean-360": "146a56496217e96c14334a160df97fffedd6e0a04e66b9c5af0d40be3c792ecf",
        "train-other-500": "ddb22f27f96ec163645d53215559df6aa36515f26e01dd70798188350adcb6d2",
    },
)

LIBRITTS = _openslr_subsets(
    60,
    {
        "dev-clean": "da0864e1bd26debed35da8a869dd5c04dfc27682921936de7cff9c8a254dbe1a",
        "dev-other": "d413eda26f3a152ac7c9cf3658ef85504dfb1b625296e5fa83727f5186cca79c",
        "test-clean": "234ea5b25859102a87024a4b9b86641f5b5aaaf1197335c95090cde04fe9a4f5",
        "test-other": "33a5342094f3bba7ccc2e0500b9e72d558f72eb99328ac8debe1d9080402f10d",
        "train-clean-100": "c5608bf1ef74bb621935382b8399c5cdd51cd3ee47cec51f00f885a64c6c7f6b",
        "train-clean-360": "ce7cff44dcac46009d18379f37ef36551123a1dc4e5c8e4eb73ae57260de4886",
        "train-other-500": "e35f7e34deeb2e2bdfe4403d88c8fdd5fbf64865cae41f027a185a6965f0a5df",
    },
)

#: LibriTTS-R publishes MD5 only (its ``md5sum.txt``); its archives use underscores (``dev_clean.tar.gz``).
LIBRITTS_R = _openslr_subsets(
    141,
    {
        "dev-clean": "2c1f5312914890634cc2d15783032ff3",
        "dev-other": "62d3a80ad8a282b6f31b3904f0507e4f",
        "test-clean": "4d373d453eb96c0691e598061bbafab7",
        "test-other": "dbc0959d8bdb6d52200595cabc9995ae",
        "train-clean-100": "6df668d8f5f33e70876bfa33862ad02b",
        "train-clean-360": "382eb3e64394b3da6a559f864339b22c",
        "train-other-500": "a37a8e9f4fe79d20601639bf23d1add8",
    },
    md5=True,
    separator="_",
)

_LIBRILIGHT = Resource(
    "https://dl.fbaipublicfiles.com/librilight/data/librispeech_finetuning.tgz",
    sha256="5d1efdc777b548194d7e09ba89126e2188026df9fd57aa57eb14408d2b2342af",
)
LIBRILIGHT_LIMITED: Resources = {None: (_LIBRILIGHT,)}

SPEECH_COMMANDS: Resources = {
    version: (
        Resource(
            f"http://download.tensorflow.org/data/{version}.tar.gz",
            sha256=digest,
            extract_to=f"SpeechCommands/{version}",
        ),
    )
    for version, digest in {
        "speech_commands_v0.01": "743935421bb51cccdb6bdd152e04c5c70274e935c82119ad7faeec31780d811d",
        "speech_commands_v0.02": "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58",
    }.items()
}

LJSPEECH: Resources = {
    None: (
        Resource(
            "https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2",
            sha256="be1a30453f28eb8dd26af4101ae40cbf2c50413b1bb21936cbcdc6fae3de8aa5",
        ),
    )
}

VCTK: Resources = {
    None: (
        Resource(
            "https://datashare.is.ed.ac.uk/bitstream/handle/10283/3443/VCTK-Corpus-0.92.zip",
            sha256="f96258be9fdc2cbff6559541aae7ea4f59df3fcaf5cf963aae5ca647357e359c",
            extract_to="VCTK-Corpus-0.92",
        ),
    )
}

YESNO: Resources = {
    None: (
        Resource(
            f"{_OPENSLR}/1/waves_yesno.tar.gz",
            sha256="c3f49e0cca421f96b75b41640749167b52118f232498667ca7a5f9416aef8e73",
        ),
    )
}

CMU_ARCTIC: Resources = {
    speaker: (
        Resource(
            f"http://festvox.org/cmu_arctic/packed/cmu_us_{speaker}_arctic.tar.bz2", sha256=digest, extract_to="ARCTIC"
        ),
    )
    for speaker, digest in {
        "aew": "645cb33c0f0b2ce41384fdd8d3db2c3f5fc15c1e688baeb74d2e08cab18ab406",
        "ahw": "024664adeb892809d646a3efd043625b46b5bfa3e6189b3500b2d0d59dfab06c",
        "aup": "2c55bc3050caa996758869126ad10cf42e1441212111db034b3a45189c18b6fc",
        "awb": "d74a950c9739a65f7bfc4dfa6187f2730fa03de5b8eb3f2da97a51b74df64d3c",
        "axb": "dd65c3d2907d1ee52f86e44f578319159e60f4bf722a9142be01161d84e330ff",
        "bdl": "26b91aaf48b2799b2956792b4632c2f926cd0542f402b5452d5adecb60942904",
        "clb": "3f16dc3f3b97955ea22623efb33b444341013fc660677b2e170efdcc959fa7c6",
        "eey": "8a0ee4e5acbd4b2f61a4fb947c1730ab3adcc9dc50b195981d99391d29928e8a",
        "fem": "3fcff629412b57233589cdb058f730594a62c4f3a75c20de14afe06621ef45e2",
        "gka": "dc82e7967cbd5eddbed33074b0699128dbd4482b41711916d58103707e38c67f",
        "jmk": "3a37c0e1dfc91e734fdbc88b562d9e2ebca621772402cdc693bbc9b09b211d73",
        "ksp": "8029cafce8296f9bed3022c44ef1e7953332b6bf6943c14b929f468122532717",
        "ljm": "b23993765cbf2b9e7bbc3c85b6c56eaf292ac81ee4bb887b638a24d104f921a0",
        "lnh": "4faf34d71aa7112813252fb20c5433e2fdd9a9de55a00701ffcbf05f24a5991a",
        "rms": "c6dc11235629c58441c071a7ba8a2d067903dfefbaabc4056d87da35b72ecda4",
        "rxr": "1fa4271c393e5998d200e56c102ff46fcfea169aaa2148ad9e9469616fbfdd9b",
        "slp": "54345ed55e45c23d419e9a823eef427f1cc93c83a710735ec667d068c916abf1",
        "slt": "7c173297916acf3cc7fcab2713be4c60b27312316765a90934651d367226b4ea",
    }.items()
}

TEDLIUM: Resources = {
    release: (Resource(url, sha256=digest),)
    for release, url, digest in (
        (
            "release1",
            f"{_OPENSLR}/7/TEDLIUM_release1.tar.gz",
            "30301975fd8c5cac4040c261c0852f57cfa8adbbad2ce78e77e4986957445f27",
        ),
        (
            "release2",
            f"{_OPENSLR}/19/TEDLIUM_release2.tar.gz",
            "93281b5fcaaae5c88671c9d000b443cb3c7ea3499ad12010b3934ca41a7b9c58",
        ),
        (
            "release3",
            f"{_OPENSLR}/51/TEDLIUM_release-3.tgz",
            "ad1e454d14d1ad550bc2564c462d87c7a7ec83d4dc2b9210f22ab4973b9eccdb",
        ),
    )
}

MUSDB18_HQ: Resources = {
    None: (
        Resource(
            "https://zenodo.org/record/3338373/files/musdb18hq.zip",
            sha256="baac80d0483c61d74b2e5f3be75fa557eec52898339e6aa45c1fa48833c5d21d",
            extract_to="musdb18hq",
        ),
    )
}

QUESST14: Resources = {
    None: (
        Resource(
            "https://speech.fit.vutbr.cz/files/quesst14Database.tgz",
            sha256="4f869e06bc066bbe9c5dde31dbd3909a0870d70291110ebbb38878dcbc2fc5e4",
        ),
    )
}

_VOX = "https://www.robots.ox.ac.uk/~vgg/data/voxceleb/meta"
VOXCELEB1: Resources = {
    None: (
        Resource(
            "https://thor.robots.ox.ac.uk/~vgg/data/voxceleb/vox1a/vox1_test_wav.zip",
            sha256="8de57f347fe22b2c24526e9f444f689ecf5096fc2a92018cf420ff6b5b15eaea",
        ),
        Resource(f"{_VOX}/iden_split.txt", extract_to=None),
        Resource(f"{_VOX}/veri_test.txt", extract_to=None),
    )
}
