// Planted facts in the ask layout: what training teaches `memmamba ask`'s prompt with
// (engine/train/data.cpp, --tasks fact) and what the memory self-test plants in a
// document (app/memory/selftest.h, `memmamba selftest`).
//
// `ask` reads "<q> question <a>" after a document and generates until "</s>"
// (app/memory). A model that never saw that layout in training runs on to its token
// cap. A fact sample is a stretch of book text with one invented fact sentence planted
// in it ("Tobin Marle lives in Ashgrove."), then the question in the ask layout and the
// answer closed by "</s>". Names, places and numbers are invented from syllables and
// digits, so the answer can only come from the context, never from what the model
// remembers of the books. The relations cover the kinds of questions a reader asks:
// who, what, where, when, how many.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace mm::eval {

struct PlantedFact {
    std::string sentence;  ///< " Tobin Marle lives in Ashgrove." (leading space: planted mid-text)
    std::string question;  ///< "Where does Tobin Marle live?" (encoded as `ask` encodes it)
    std::string answer;    ///< "Ashgrove"
    std::string kind;      ///< "where", "who", "what", "when", "how many"
};

/// An invented capitalised word of 2-3 syllables ("Ashgrove", "Tobin").
std::string inventedName(std::mt19937_64& rng);

/// One fact of a random relation, with invented entities.
PlantedFact randomFact(std::mt19937_64& rng);

}  // namespace mm::eval
