#include "engine/eval/facts.h"

#include <array>
#include <vector>

namespace mm::eval {

namespace {

template <typename T, size_t N>
const T& pick(const std::array<T, N>& a, std::mt19937_64& rng)
{
    return a[std::uniform_int_distribution<size_t>(0, N - 1)(rng)];
}

std::string number(std::mt19937_64& rng, int lo, int hi)
{
    return std::to_string(std::uniform_int_distribution<int>(lo, hi)(rng));
}

}  // namespace

std::string inventedName(std::mt19937_64& rng)
{
    static const std::array<const char*, 24> first{"ash", "bel", "cor", "dun", "el",  "fen", "gar", "hal",
                                                   "ith", "jor", "kel", "lan", "mar", "nor", "ol",  "per",
                                                   "quen", "ros", "sel", "tob", "ul",  "ver", "wen", "yor"};
    static const std::array<const char*, 20> next{"a",   "in",  "grove", "mere", "ton", "wick", "by",
                                                  "dale", "is", "ard",   "en",   "ley", "mont", "o",
                                                  "ric",  "ven", "wyn",  "ford", "holt", "ell"};
    std::string s = pick(first, rng);
    const int more = std::uniform_int_distribution<int>(1, 2)(rng);
    for (int i = 0; i < more; ++i)
        s += pick(next, rng);
    s[0] = static_cast<char>(s[0] - 'a' + 'A');
    return s;
}

PlantedFact randomFact(std::mt19937_64& rng)
{
    static const std::array<const char*, 6> titles{"Mr. ", "Mrs. ", "Miss ", "Captain ", "Dr. ", ""};
    auto person = [&] { return std::string(pick(titles, rng)) + inventedName(rng) + " " + inventedName(rng); };
    static const std::array<const char*, 6> animals{"horse", "dog", "cat", "parrot", "mare", "hound"};
    static const std::array<const char*, 6> things{"sheep", "cows", "books", "ships", "barrels", "lamps"};
    static const std::array<const char*, 5> roles{"captain", "mate", "cook", "pilot", "steward"};
    static const std::array<const char*, 4> vessels{"ship", "brig", "schooner", "whaler"};
    PlantedFact f;
    switch (std::uniform_int_distribution<int>(0, 5)(rng)) {
    case 0: {
        const std::string who = person(), place = inventedName(rng);
        f = {" " + who + " lives in " + place + ".", "Where does " + who + " live?", place, "where"};
        break;
    }
    case 1: {
        const std::string who = person(), animal = pick(animals, rng), name = inventedName(rng);
        f = {" " + who + "'s " + animal + " is called " + name + ".",
             "What is the name of " + who + "'s " + animal + "?", name, "what"};
        break;
    }
    case 2: {
        const std::string who = person(), n = number(rng, 2, 99), thing = pick(things, rng);
        f = {" " + who + " keeps " + n + " " + thing + ".", "How many " + thing + " does " + who + " keep?", n,
             "how many"};
        break;
    }
    case 3: {
        const std::string who = person(), year = number(rng, 1600, 1899);
        f = {" " + who + " was born in " + year + ".", "When was " + who + " born?", year, "when"};
        break;
    }
    case 4: {
        const std::string who = person(), role = pick(roles, rng), vessel = pick(vessels, rng),
                          ship = inventedName(rng);
        f = {" The " + role + " of the " + vessel + " " + ship + " is " + who + ".",
             "Who is the " + role + " of the " + vessel + " " + ship + "?", who, "who"};
        break;
    }
    default: {
        const std::string who = person(), spouse = person();
        f = {" " + who + " married " + spouse + ".", "Whom did " + who + " marry?", spouse, "who"};
        break;
    }
    }
    return f;
}

}  // namespace mm::eval
