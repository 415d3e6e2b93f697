import ShimingCore

/// What the home page shows: this deployment's offer, in the visitor's language.
enum Home {
    struct Model {
        var lang: Lang
        var signedIn = false
    }
}
