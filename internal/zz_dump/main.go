package main
import ("fmt";"os";"github.com/vulntune/vulntune/internal/finding";"github.com/vulntune/vulntune/internal/remedy";"github.com/vulntune/vulntune/internal/narrate")
func main(){
 fs,_:=finding.ReadJSONL("/tmp/f.jsonl")
 for i:=range fs{ f:=&fs[i]
  for _,a:=range os.Args[1:]{ if f.ID==a {
 r,_:=remedy.For(f); e:=narrate.Example(f,r,nil)
 fmt.Println("=== USER ("+string(f.Kind)+")\n"+e.Messages[1].Content+"\n=== ASSISTANT\n"+e.Messages[2].Content)}}}
}
