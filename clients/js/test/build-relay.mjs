console.log("relay built")
