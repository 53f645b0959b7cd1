/** mulberry32: a small generator whose whole sequence of numbers in [0, 1) follows from a 32-bit seed. */
const mulberry32 = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};

/** What the sandbox's random choices are drawn from: a seed makes them the same run after run; null leaves them to Math.random. */
export const randomSource = (seed: number | null): (() => number) => (seed === null ? Math.random : mulberry32(seed));
