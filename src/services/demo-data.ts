import { createHash } from "node:crypto";

/**
 * The demo dataset: short conversations written for tunegraph (not taken from any corpus), laid out as
 * OpenAssistant message rows (the columns of HF `OpenAssistant/oasst1`), so the demo exercises the real reader.
 */
const CONVERSATIONS: [string, string, string?, string?][] = [
  ["What is a LoRA adapter?", "A small pair of low-rank matrices trained next to a frozen weight; their product is added to the layer's output."],
  ["Why quantize a base model to 4 bits?", "It cuts the memory of the frozen weights about four times, so a larger model fits while the adapter trains in full precision."],
  ["How do I boil an egg?", "Put it in boiling water for about nine minutes, then cool it in cold water before peeling.", "And for a soft yolk?", "Six to seven minutes is enough for a runny centre."],
  ["Give me a synonym for quick.", "Fast, rapid or swift all work."],
  ["What is the capital of France?", "Paris."],
  ["Translate 'good morning' to Spanish.", "Buenos días."],
  ["What does HTTP stand for?", "Hypertext Transfer Protocol."],
  ["Name three primary colours.", "Red, yellow and blue in painting; red, green and blue for light."],
  ["How many legs does a spider have?", "Eight."],
  ["Write a haiku about rain.", "Soft rain on the roof / the garden drinks in silence / puddles hold the sky"],
  ["What is 12 times 12?", "144."],
  ["Suggest a name for a grey cat.", "Ash, Pebble or Smokey."],
  ["Why is the sky blue?", "Air scatters short blue wavelengths of sunlight much more than red ones, so blue light reaches us from every direction."],
  ["What is a prime number?", "A whole number above one whose only divisors are one and itself, like 2, 3, 5 and 7."],
  ["How do I make my tea less bitter?", "Use water just below boiling and steep it for a shorter time."],
  ["Recommend a short stretching routine.", "Neck rolls, shoulder circles, a standing forward fold and a calf stretch, thirty seconds each."],
  ["What is the boiling point of water?", "100 degrees Celsius at sea level.", "And on a high mountain?", "Lower: around 70 degrees Celsius on the highest peaks, because the air pressure is lower."],
  ["Explain recursion in one sentence.", "A function that solves a problem by calling itself on a smaller part of the same problem."],
  ["What is the largest planet?", "Jupiter."],
  ["Give me a tip for learning vocabulary.", "Review new words a day later, then a week later: spaced repetition keeps them."],
  ["How do plants make food?", "By photosynthesis: they use sunlight to turn water and carbon dioxide into sugar and oxygen."],
  ["What is a noun?", "A word that names a person, place, thing or idea."],
  ["Convert 5 kilometres to miles.", "About 3.1 miles."],
  ["What should I pack for a day hike?", "Water, a snack, a map, sun cream, a light jacket and a charged phone."],
  ["What does a compiler do?", "It translates source code into a form the machine can run, such as machine code or bytecode."],
  ["Tell me a fun fact about octopuses.", "They have three hearts and blue blood."],
  ["How can I sleep better?", "Keep a regular bedtime, dim the screens an hour before, and keep the room cool and dark."],
  ["What is the opposite of ancient?", "Modern."],
  ["Why do we have seasons?", "The Earth's axis is tilted, so each hemisphere gets more direct sunlight for part of the year."],
  ["What is a haiku?", "A three-line poem of five, seven and five syllables."],
  ["Spell 'necessary' for me.", "N-E-C-E-S-S-A-R-Y."],
  ["What is machine learning?", "Programs that improve at a task by finding patterns in examples instead of following hand-written rules."],
  ["How many minutes are in a day?", "1440."],
  ["Suggest a vegetarian dinner.", "A chickpea curry with rice and a green salad.", "Something quicker?", "A vegetable omelette with toast takes ten minutes."],
  ["What is gravity?", "The attraction between masses; it keeps us on the ground and the Moon around the Earth."],
  ["Say hello in French.", "Bonjour."],
];

/** A stable UUID-shaped id from a string (the demo file is the same on every machine). */
function id(seed: string): string {
  const h = createHash("sha256").update(seed).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function demoMessageRows(): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const start = Date.UTC(2026, 0, 1);
  CONVERSATIONS.forEach((turns, c) => {
    const tree = id(`tree-${c}`);
    let parent: string | null = null;
    turns.forEach((text, t) => {
      if (text === undefined) return;
      const messageId: string = t === 0 ? tree : id(`msg-${c}-${t}`);
      const role = t % 2 === 0 ? "prompter" : "assistant";
      rows.push({
        message_id: messageId,
        parent_id: parent,
        user_id: id(`user-${(c + t) % 7}`),
        created_date: new Date(start + (c * 10 + t) * 60_000).toISOString(),
        text,
        role,
        lang: "en",
        review_count: 3,
        review_result: true,
        deleted: false,
        rank: role === "assistant" ? 0 : null,
        synthetic: false,
        model_name: null,
        detoxify: null,
        message_tree_id: tree,
        tree_state: "ready_for_export",
        emojis: null,
        labels: null,
      });
      parent = messageId;
    });
  });
  return rows;
}

export function demoConversationCount(): number {
  return CONVERSATIONS.length;
}
